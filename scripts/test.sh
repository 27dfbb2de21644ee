#!/usr/bin/env bash
# The platform's test command.
#
#   ./scripts/test.sh          lint, audit, fast tier, then end-to-end, chaos and scale tiers on one stack
#   ./scripts/test.sh lint     ruff (lint, format), mypy on every service, no build history (scripts/check_history.py),
#                              a short README with working doc links (scripts/check_docs.py)
#   ./scripts/test.sh audit    known vulnerabilities in every service's locked requirements (scripts/audit.sh)
#   ./scripts/test.sh fast     unit and service tests of every service (no compose stack), promtool on prometheus/,
#                              the load balancer (lb/) in front of stand-in replicas
#   ./scripts/test.sh e2e      build the images, bring the whole stack up, drive it, tear it down
#   ./scripts/test.sh chaos    the same stack, faults injected under a steady prediction load
#   ./scripts/test.sh scale    the same stack switched to the scale-out profile (docker-compose.scale.yaml)
#   ./scripts/test.sh stack    e2e, chaos, then scale on one stack (what `all` runs after the fast tier)
#
# Needs Python 3.11 and Docker with Compose v2. Output (JUnit XML, logs of
# every container when something fails, screenshots) goes to test-output/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${TEST_OUTPUT_DIR:-$ROOT/test-output}
VENVS=${TEST_VENV_DIR:-$ROOT/.venv}
SHARED=${SHARED_DIR:-$ROOT/../shared}
# Services with a fast test suite, each tested in its own venv with its own pins
# (deploy: the Kubernetes manifests, checked offline against Kubernetes' schemas).
SERVICES=(data_api inference ui mlflow minio airflow deploy)
mkdir -p "$OUT"

log() { printf '\n=== [%s] %s\n' "$(date +%T)" "$*" >&2; }

# Every step has a deadline, so a hang fails the run with a message (and pytest-timeout's
# thread dump) instead of stalling it. Seconds, overridable.
SUITE_TIMEOUT=${TEST_SUITE_TIMEOUT:-1800}
BUILD_TIMEOUT=${TEST_BUILD_TIMEOUT:-2400}
bounded() { local limit=$1; shift; timeout --kill-after=30 "$limit" "$@"; }

ensure_uv() {
  command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet 'uv==0.13.8'
}

# venv NAME REQUIREMENT_FILE...: a venv per service, re-synced only when its pins change.
venv() {
  local name=$1; shift
  local dir="$VENVS/$name" stamp
  # The packages it imports as installed (editable): the service's own; the e2e tier's
  # is tests/e2e, with the UI's page object (ui.page) beside it.
  local packages=() own=() package
  case $name in
    e2e) packages=(tests/e2e ui) ;;
    *) if [[ -f "$name/pyproject.toml" ]]; then packages=("$name"); fi ;;
  esac
  for package in "${packages[@]}"; do own+=("$package/pyproject.toml"); done
  # Re-synced when its pins or its package definitions change.
  stamp=$(cat "$@" "${own[@]}" | sha256sum | cut -c1-16)
  if [[ ! -f "$dir/.stamp" || $(cat "$dir/.stamp") != "$stamp" ]]; then
    log "installing $name test environment"
    uv venv --quiet --allow-existing --python 3.11 "$dir"
    local args=() f
    for f in "$@"; do args+=(-r "$f"); done
    uv pip install --quiet --python "$dir/bin/python" "${args[@]}"
    # Editable, so tests and scripts import them as installed.
    for package in "${packages[@]}"; do uv pip install --quiet --no-deps --python "$dir/bin/python" -e "$package"; done
    echo "$stamp" > "$dir/.stamp"
  fi
  echo "$dir"
}

# Service tests run against real servers: the compose file's own services,
# started alone under a separate project name and on other host ports.
start_test_services() {
  choose_images
  SVC_COMPOSE=(docker compose -f "$ROOT/docker-compose.yaml" -p "${TEST_SERVICES_PROJECT:-mlops-test-services}")
  local mysql_port=${TEST_MYSQL_PORT:-13306} mlflow_port=${TEST_MLFLOW_PORT:-15000}
  trap stop_test_services EXIT
  log "starting real services for the service tests: mysql, mlflow (with minio)"
  # --build: images left by an earlier run on this machine may be of older code.
  MYSQL_PORT=$mysql_port MYSQL_ROOT_PASSWORD=test-root MLFLOW_PORT=$mlflow_port \
    MINIO_API_PORT=${TEST_MINIO_PORT:-19000} MINIO_CONSOLE_PORT=${TEST_MINIO_CONSOLE_PORT:-19001} \
    "${SVC_COMPOSE[@]}" up -d --build --wait --wait-timeout 600 mysql mlflow || {
    "${SVC_COMPOSE[@]}" logs --no-color --tail 50; log "the service-test stack did not come up"; exit 1; }
  export TEST_MYSQL_URL="mysql+pymysql://root:test-root@127.0.0.1:$mysql_port/"
  export TEST_MLFLOW_URI="http://127.0.0.1:$mlflow_port"
  # MLflow needs a login: the service tests use the admin (the compose file's
  # defaults, or what the environment gives it).
  export MLFLOW_TRACKING_USERNAME=${MLFLOW_ADMIN_USER:-admin}
  export MLFLOW_TRACKING_PASSWORD=${MLFLOW_ADMIN_PASSWORD:-change-me-mlflow-admin}
  export TEST_MINIO_URL="http://127.0.0.1:${TEST_MINIO_PORT:-19000}"
  # For the tests that stop and start a service (inference: MLflow restart).
  export TEST_SERVICES_COMPOSE="${SVC_COMPOSE[*]}"
}

stop_test_services() {
  "${SVC_COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
}

run_fast() {
  ensure_uv
  local svc dir status=0
  # Real data for the tests that read it; never copied into the repository.
  [[ -f "$SHARED/data/covertype.csv.gz" ]] && export COVERTYPE_PATH="$SHARED/data/covertype.csv.gz"
  start_test_services
  for svc in "${SERVICES[@]}"; do
    [[ -d "$svc/tests" ]] || continue
    dir=$(venv "$svc" "$svc/requirements.txt" "$svc/requirements-dev.txt")
    log "fast tests: $svc"
    (cd "$svc" && bounded "$SUITE_TIMEOUT" "$dir/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$OUT/fast-$svc.xml") || status=1
  done
  run_prometheus_checks || status=1
  run_lb_checks || status=1
  stop_test_services
  trap - EXIT
  return $status
}

# check LABEL NAME COMMAND...: a check that is a script, its output in
# test-output/fast-NAME.txt, shown whole when it fails, its last lines otherwise.
check() {
  local label=$1 name=$2; shift 2
  log "fast tests: $label"
  bounded "$SUITE_TIMEOUT" "$@" > "$OUT/fast-$name.txt" 2>&1 || { cat "$OUT/fast-$name.txt"; return 1; }
  tail -n 6 "$OUT/fast-$name.txt"
}

# Prometheus's config and rules: promtool's checks and the rules' unit tests
# (prometheus/tests/check.sh; promtool from PATH or the PROMETHEUS_IMAGE image).
run_prometheus_checks() {
  check "prometheus (promtool check config, check rules, test rules)" prometheus "$ROOT/prometheus/tests/check.sh"
}

# The scale-out profile's load balancer (lb/): nginx and its replica loop in the
# NGINX_IMAGE, in front of stand-in replicas on a private network (lb/tests/check.py).
run_lb_checks() {
  check "lb (replicas spread, killed, added, sick, under keep-alive load; error shapes)" lb python3 "$ROOT/lb/tests/check.py"
}

# The lint and type gate: ruff (lint and format) over the repository, mypy per
# service in the service's own venv, so its pins are what is type-checked.
run_lint() {
  ensure_uv
  local svc dir status=0
  dir=$(venv inference inference/requirements.txt inference/requirements-dev.txt)
  log "ruff check and ruff format --check (ruff.toml)"
  "$dir/bin/ruff" check . || status=1
  "$dir/bin/ruff" format --check . || status=1
  log "no build history in tracked files (scripts/check_history.py and its tests)"
  "$dir/bin/python" scripts/check_history.py || status=1
  log "README.md at most 200 lines, every relative link in README.md and docs/ resolves (scripts/check_docs.py)"
  "$dir/bin/python" scripts/check_docs.py || status=1
  "$dir/bin/python" -m pytest -q -p no:cacheprovider scripts/tests || status=1
  for svc in data_api inference ui mlflow airflow; do
    dir=$(venv "$svc" "$svc/requirements.txt" "$svc/requirements-dev.txt")
    log "mypy: $svc"
    (cd "$svc" && "$dir/bin/mypy") || status=1
  done
  return $status
}

# The upstream images, or local stand-ins where no registry can be reached.
choose_images() {
  if [[ -n "${PYTHON_IMAGE:-}" && -n "${MYSQL_IMAGE:-}" && -n "${POSTGRES_IMAGE:-}" && -n "${MINIO_IMAGE:-}" ]]; then
    return
  fi
  if [[ "${E2E_OFFLINE_IMAGES:-auto}" != 0 && -x "$SHARED/ci/offline-images" ]]; then
    if [[ "${E2E_OFFLINE_IMAGES:-auto}" == 1 ]] || ! timeout 60 docker pull -q python:3.11-slim >/dev/null 2>&1; then
      log "no container registry reachable: building local stand-ins ($SHARED/ci/offline-images)"
      # Through a file, not `$(...)`: a dockerd it starts keeps the script's stdout open.
      local exports
      exports=$(mktemp)
      "$SHARED/ci/offline-images" >"$exports" || { log "offline-images failed"; exit 1; }
      # shellcheck disable=SC1090
      source "$exports"
      rm -f "$exports"
      docker compose version
    fi
  fi
}

# run_stack TIER...: build the images and bring the stack up once, then run each
# tier's tests on it (e2e: tests/e2e without the chaos and scale markers; chaos,
# scale: only theirs), then tear it down. Tiers share the stack: bringing it up is
# most of a tier's cost. The scale tier first applies docker-compose.scale.yaml to
# the running stack (Celery workers, inference replicas behind lb; volumes kept).
run_stack() {
  local tiers=("$@")
  ensure_uv
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || {
    echo "the end-to-end tier drives the UI in Debian's chromium: apt-get install chromium" >&2; return 1; }
  choose_images
  export COMPOSE_PROJECT_NAME=${E2E_PROJECT:-mlops-e2e}
  [[ -f "$SHARED/data/covertype.csv.gz" ]] && export COVERTYPE_DATA_DIR="$SHARED/data"
  # The tests trigger covertype_ingest themselves and compare row counts with
  # what data_api served, so no scheduled run may fetch in between.
  export COVERTYPE_INGEST_SCHEDULE=${COVERTYPE_INGEST_SCHEDULE:-none}
  # The monitoring test (test_07) drives data_api group 9 in elevation order (a drifting
  # source), the day-in-the-life test (test_97) group 6 the same way, batch after batch;
  # every other group stays shuffled; no scheduled drift check runs in between.
  export DATA_API_ORDER_GROUPS=${DATA_API_ORDER_GROUPS:-9=elevation,6=elevation}
  # test_02_exhausted_source runs group 4, test_97 group 6, test_98 group 3 (no other test reads them) through
  # their batches in seconds.
  export DATA_API_INTERVAL_GROUPS=${DATA_API_INTERVAL_GROUPS:-4=1,6=1,3=1}
  export MONITOR_DRIFT_SCHEDULE=${MONITOR_DRIFT_SCHEDULE:-none}
  # Globals: the EXIT trap reads them after this function has returned.
  compose=(docker compose -f "$ROOT/docker-compose.yaml")
  E2E_STATUS=1
  local start up_seconds

  teardown() {
    if [[ $E2E_STATUS != 0 ]]; then
      log "collecting container logs into $OUT/logs"
      mkdir -p "$OUT/logs"
      local svc
      for svc in $("${compose[@]}" config --services); do
        "${compose[@]}" logs --no-color --timestamps "$svc" > "$OUT/logs/$svc.log" 2>&1 || true
      done
      "${compose[@]}" ps -a > "$OUT/logs/ps.txt" 2>&1 || true
    fi
    log "tearing the stack down (down -v)"
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  }
  trap teardown EXIT

  log "building images"
  start=$(date +%s)
  bounded "$BUILD_TIMEOUT" "${compose[@]}" build
  echo "e2e: images built in $(( $(date +%s) - start ))s"

  log "docker compose up --wait"
  start=$(date +%s)
  if ! "${compose[@]}" up -d --wait --wait-timeout "${E2E_UP_TIMEOUT:-900}"; then
    "${compose[@]}" ps -a
    return 1
  fi
  up_seconds=$(( $(date +%s) - start ))
  echo "e2e: up to all-healthy in ${up_seconds}s"
  "${compose[@]}" ps
  docker stats --no-stream --format 'table {{.Name}}\t{{.MemUsage}}\t{{.CPUPerc}}' | tee "$OUT/docker-stats.txt"

  local dir tier marker status
  dir=$(venv e2e tests/e2e/requirements.txt)
  E2E_STATUS=0
  for tier in "${tiers[@]}"; do
    case $tier in
      e2e) marker="not chaos and not scale" ;;
      chaos) marker="chaos" ;;
      scale)
        marker="scale"
        scale_up || { E2E_STATUS=1; continue; }
        ;;
    esac
    log "$tier tests"
    status=0
    TEST_OUTPUT_DIR="$OUT" bounded "$SUITE_TIMEOUT" "$dir/bin/python" -m pytest -q -p no:cacheprovider tests/e2e -m "$marker" \
      --junitxml="$OUT/$tier.xml" || status=$?
    [[ $status == 0 ]] || E2E_STATUS=$status
  done
  return $E2E_STATUS
}

# The running stack, switched to the scale-out profile: the Airflow services
# recreated with CeleryExecutor, Redis, the workers, inference replicas and lb.
# From here on every compose command (teardown, the tests' own) names both files.
scale_up() {
  local start
  compose+=(-f "$ROOT/docker-compose.scale.yaml")
  export COMPOSE_FILE="$ROOT/docker-compose.yaml:$ROOT/docker-compose.scale.yaml"
  export E2E_AIRFLOW_WORKERS=${E2E_AIRFLOW_WORKERS:-2} E2E_INFERENCE_REPLICAS=${E2E_INFERENCE_REPLICAS:-3}
  log "scale-out profile: --scale airflow-worker=$E2E_AIRFLOW_WORKERS --scale inference=$E2E_INFERENCE_REPLICAS"
  start=$(date +%s)
  if ! "${compose[@]}" up -d --wait --wait-timeout "${E2E_UP_TIMEOUT:-900}" \
      --scale airflow-worker="$E2E_AIRFLOW_WORKERS" --scale inference="$E2E_INFERENCE_REPLICAS"; then
    "${compose[@]}" ps -a
    return 1
  fi
  echo "scale: profile up to all-healthy in $(( $(date +%s) - start ))s"
  docker stats --no-stream --format 'table {{.Name}}\t{{.MemUsage}}\t{{.CPUPerc}}' | tee "$OUT/docker-stats-scale.txt"
}

run_audit() {
  ensure_uv
  log "audit: known vulnerabilities in the locked requirements"
  bounded "$SUITE_TIMEOUT" "$ROOT/scripts/audit.sh"
}

case "${1:-all}" in
  lint) run_lint ;;
  audit) run_audit ;;
  fast) run_fast ;;
  e2e) run_stack e2e ;;
  chaos) run_stack chaos ;;
  scale) run_stack scale ;;
  stack) run_stack e2e chaos scale ;;
  all)
    status=0
    run_lint || status=$?
    run_audit || status=$?
    run_fast || status=$?
    run_stack e2e chaos scale || status=$?
    exit $status
    ;;
  *) echo "usage: $0 [lint|audit|fast|e2e|chaos|scale|stack|all]" >&2; exit 2 ;;
esac
