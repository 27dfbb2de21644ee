"""Judge one pip-audit JSON report (scripts/audit.sh): exit 1 on a finding that has a
fixed version and is not in the ignore list. A package that could not be looked up
is reported loudly, and fails the run only with AUDIT_STRICT=1: where the
vulnerability data cannot be reached (the CI machine's package mirror serves no
per-version data), a red audit would block every change without finding anything.

    python audit_report.py SERVICE REPORT.json IGNORE_FILE
"""

import json
import os
import sys

service, report, ignore_file = sys.argv[1:]
ignored = {}
for line in open(ignore_file):
    if line.strip() and not line.lstrip().startswith("#"):
        vuln_id, date, reason = line.split(None, 2)
        ignored[vuln_id] = f"{reason.strip()} (ignored since {date})"
failed = False
dependencies = json.load(open(report))["dependencies"]
# A package the service cannot look up is not "no finding": said every time, and a failure when strict.
skipped = [d for d in dependencies if d.get("skip_reason")]
if skipped:
    strict = os.environ.get("AUDIT_STRICT") == "1"
    print(
        f"audit: {'FAIL' if strict else 'WARNING'} {service}: {len(skipped)} of {len(dependencies)} packages could not be "
        f"audited (NOT checked for known vulnerabilities), e.g. {skipped[0]['skip_reason']}"
    )
    failed = failed or strict
for dep in dependencies:
    for vuln in dep.get("vulns", []):
        ids = [vuln["id"], *vuln.get("aliases", [])]
        what = f"{service}: {dep['name']} {dep['version']}: {vuln['id']}"
        known = next((ignored[i] for i in ids if i in ignored), None)
        if known:
            print(f"audit: ignored {what}: {known}")
        elif vuln.get("fix_versions"):
            print(f"audit: FAIL {what}: fixed in {', '.join(vuln['fix_versions'])}")
            failed = True
        else:
            print(f"audit: no fix yet for {what}")
print(f"audit: {service}: {'findings to fix' if failed else 'NOT CHECKED' if skipped else 'ok'}")
sys.exit(1 if failed else 0)
