#!/bin/sh
# Start guard of every service that holds a secret (compose runs it before the
# service's own command). While a variable still has the value that
# docker-compose.yaml publishes as its default, it logs a warning; with
# PLATFORM_ENV=production it refuses to start, naming the variable.
#
#   check-defaults.sh VAR=published-default [VAR=published-default ...] -- command [args...]
#
# POSIX sh: it runs in the upstream images (mysql, postgres) and ours alike.
set -eu

defaults=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  name=${1%%=*}
  default=${1#*=}
  shift
  case $name in
    "" | *[!A-Za-z0-9_]*) echo "check-defaults: not VAR=default: $name" >&2; exit 2 ;;
  esac
  eval "value=\${$name-}"
  # shellcheck disable=SC2154 # set by the eval above
  if [ "$value" = "$default" ]; then defaults="$defaults $name"; fi
done
[ $# -gt 0 ] && shift  # the --

for name in $defaults; do
  if [ "${PLATFORM_ENV:-}" = production ]; then
    echo "check-defaults: refusing to start: $name has its published default value and PLATFORM_ENV=production;" \
      "set $name in .env (scripts/make-env.sh writes one with fresh secrets)" >&2
  else
    echo "check-defaults: WARNING: $name has its published default value, which anyone can read in the" \
      "repository; set it in .env (scripts/make-env.sh) before anyone else can reach this machine" >&2
  fi
done
if [ -n "$defaults" ] && [ "${PLATFORM_ENV:-}" = production ]; then exit 1; fi

if [ $# -gt 0 ]; then exec "$@"; fi
