#!/usr/bin/env bash
# Known vulnerabilities in every service's locked requirements (requirements.txt).
#
#   ./scripts/audit.sh
#
# pip-audit (pinned, in its own venv) checks each lock as it is: no resolution,
# no install (--no-deps --disable-pip), against PyPI's vulnerability data. The
# run fails on any finding that has a fixed version, unless security/audit-ignore.txt
# lists it with its reason and date; findings without a fix are reported only.
# A package that could not be looked up is reported loudly, and fails the run with
# AUDIT_STRICT=1 (see security/audit_report.py for why it is not the default).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PIP_AUDIT_VERSION=2.10.1
VENV=${TEST_VENV_DIR:-$ROOT/.venv}/audit
OUT=${TEST_OUTPUT_DIR:-$ROOT/test-output}/audit
IGNORE_FILE=$ROOT/security/audit-ignore.txt
mkdir -p "$OUT"

if [[ ! -x $VENV/bin/pip-audit ]] || ! "$VENV/bin/pip-audit" --version | grep -q " $PIP_AUDIT_VERSION\$"; then
  uv venv --quiet --allow-existing --python 3.11 "$VENV"
  uv pip install --quiet --python "$VENV/bin/python" "pip-audit==$PIP_AUDIT_VERSION"
fi

status=0
for lock in */requirements.txt; do
  service=${lock%%/*}
  # Exit status 1 only means "found something"; the report decides.
  "$VENV/bin/pip-audit" --requirement "$lock" --no-deps --disable-pip --vulnerability-service pypi \
    --progress-spinner off --format json --output "$OUT/$service.json" || [[ $? == 1 ]] || {
    echo "audit: pip-audit could not check $lock" >&2; status=1; continue; }
  "$VENV/bin/python" "$ROOT/security/audit_report.py" "$service" "$OUT/$service.json" "$IGNORE_FILE" || status=1
done
exit $status
