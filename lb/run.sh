#!/bin/sh
# The load balancer's process: nginx, plus a loop that keeps its upstream equal
# to the inference replicas that are alive.
#
# Docker's DNS answers one address per running replica of a compose service.
# Every LB_RESOLVE_SECONDS the loop asks it, checks each address's /health, and
# when the set or a replica's health changed, rewrites the upstream and reloads
# nginx (graceful: requests in flight finish on the old workers). So a replica
# that is scaled up, restarted (often on a new address) or dies is put in or
# taken out within seconds, without a restart; between two looks, nginx's own
# retries (proxy_next_upstream) carry requests over to the next replica.
# nginx 1.27.3+ can re-resolve an upstream name itself (`server ... resolve`),
# but not 1.22, and it would not check /health.
set -eu

HOST=${LB_UPSTREAM_HOST:-inference}
PORT=${LB_UPSTREAM_PORT:-8989}
INTERVAL=${LB_RESOLVE_SECONDS:-2}
CONF=${LB_CONF:-/etc/nginx/lb/nginx.conf}
DIR=/tmp/lb
mkdir -p "$DIR" /tmp/nginx

render() {
  echo "upstream inference {"
  found=0
  for addr in $(getent ahostsv4 "$HOST" 2>/dev/null | awk '{print $1}' | sort -u); do
    found=1
    if curl -fsS -o /dev/null --max-time 2 "http://$addr:$PORT/health"; then
      echo "    server $addr:$PORT max_fails=1 fail_timeout=5s;"
    else
      echo "    server $addr:$PORT down;"
    fi
  done
  # nginx needs one server; with no replica at all, requests get the 503 of @unavailable.
  [ "$found" = 1 ] || echo "    server 127.0.0.1:9 down;"
  echo "    keepalive 64;"
  echo "}"
}

render > "$DIR/upstream.conf"
echo "lb: upstream at start:" >&2
grep server "$DIR/upstream.conf" >&2
nginx -c "$CONF" -g "daemon off;" &
nginx_pid=$!

stop() {
  kill -QUIT "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" || true
  exit 0
}
trap stop TERM QUIT INT

while kill -0 "$nginx_pid" 2>/dev/null; do
  sleep "$INTERVAL" &
  wait $! || true
  render > "$DIR/upstream.new"
  if ! cmp -s "$DIR/upstream.new" "$DIR/upstream.conf"; then
    mv "$DIR/upstream.new" "$DIR/upstream.conf"
    echo "lb: replicas changed, reloading:" $(grep -o 'server [^;]*' "$DIR/upstream.conf" | cut -d' ' -f2-) >&2
    nginx -c "$CONF" -s reload
  fi
done
echo "lb: nginx exited" >&2
exit 1
