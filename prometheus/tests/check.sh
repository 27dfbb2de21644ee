#!/usr/bin/env bash
# The Prometheus configuration's fast tests: promtool checks the config and the rule
# files, then runs the rules' unit tests (rules_test.yml) on crafted series.
# promtool from PATH if installed (Debian: apt-get install prometheus), else from the
# Prometheus image the stack runs (PROMETHEUS_IMAGE, as in docker-compose.yaml).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$HERE"
# Keep in step with the default in docker-compose.yaml.
IMAGE=${PROMETHEUS_IMAGE:-prom/prometheus:v3.5.0}

if command -v promtool >/dev/null 2>&1 && [[ "${PROMTOOL_IN_DOCKER:-0}" != 1 ]]; then
  promtool() { command promtool "$@"; }
else
  promtool() { docker run --rm --network none -v "$HERE:/etc/prometheus:ro" -w /etc/prometheus --entrypoint promtool "$IMAGE" "$@"; }
fi

promtool check config prometheus.yml
promtool check rules rules/*.yml
promtool test rules tests/rules_test.yml
