"""Audit the locked dependencies (requirements.lock) for known vulnerabilities.

pip-audit looks every pinned release up in PyPI's vulnerability data (the PyPA advisory
database, also behind OSV); this script decides what its report means for CI:

- a known vulnerability fails CI, unless .ci/audit-ignore holds an accepted exception for its
  id (or one of its aliases) that has not expired;
- an expired exception, or one without a reason, fails CI too: it has to be decided again;
- a dependency that could not be looked up fails CI, except when *none* could: then the
  advisory source is unreachable from this machine, and the run says loudly that nothing was
  audited (set IDP_AUDIT_REQUIRE_SOURCE=1 to fail instead).

Usage: python .ci/audit.py PIP_AUDIT LOCK_FILE IGNORE_FILE
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Accepted:
    vuln_id: str
    until: datetime.date
    reason: str


def read_exceptions(path: Path, today: datetime.date) -> tuple[dict[str, Accepted], list[str]]:
    """The accepted exceptions still in force, and the problems with the file."""
    accepted, problems = {}, []
    lines = path.read_text().splitlines() if path.exists() else []
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(maxsplit=2)
        if len(parts) < 3:
            problems.append(f"{path.name}:{number}: needs an id, an expiry date and a reason")
            continue
        vuln_id, until_text, reason = parts
        try:
            until = datetime.date.fromisoformat(until_text)
        except ValueError:
            problems.append(f"{path.name}:{number}: {until_text!r} is not a date (YYYY-MM-DD)")
            continue
        if until < today:
            problems.append(f"{path.name}:{number}: the exception for {vuln_id} expired on "
                            f"{until}: upgrade, or decide again and set a new date")
            continue
        accepted[vuln_id] = Accepted(vuln_id, until, reason)
    return accepted, problems


def verdict(report: dict, accepted: dict[str, Accepted], require_source: bool) -> tuple[bool, list[str]]:
    """Whether CI may go on, and what to print."""
    lines, ok = [], True
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    used = set()
    for dependency in dependencies:
        for vuln in dependency.get("vulns", []):
            names = [vuln["id"], *vuln.get("aliases", [])]
            exception = next((accepted[n] for n in names if n in accepted), None)
            where = f"{dependency['name']} {dependency['version']}: {' / '.join(names)}"
            if exception:
                used.add(exception.vuln_id)
                lines.append(f"accepted until {exception.until}: {where} ({exception.reason})")
                continue
            ok = False
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            lines.append(f"VULNERABLE {where}; fixed in: {fixed}")
    for vuln_id in sorted(set(accepted) - used):
        lines.append(f"note: the exception for {vuln_id} no longer matches anything: remove it")
    if skipped and len(skipped) == len(dependencies):
        lines.append(f"NOT AUDITED: none of the {len(dependencies)} locked dependencies could be "
                     f"looked up, the advisory source is unreachable ({skipped[0]['skip_reason']})")
        ok = ok and not require_source
    else:
        for dependency in skipped:
            ok = False
            lines.append(f"NOT AUDITED {dependency['name']}: {dependency['skip_reason']}")
    audited = len(dependencies) - len(skipped)
    if audited:
        lines.append(f"{audited} locked dependencies audited")
    return ok, lines


def run_pip_audit(pip_audit: str, lock: Path) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "report.json"
        done = subprocess.run(
            [pip_audit, "--requirement", str(lock), "--require-hashes", "--disable-pip",
             "--progress-spinner", "off", "--desc", "off", "--format", "json",
             "--output", str(output)],
            capture_output=True, text=True)
        if not output.exists():  # pip-audit itself failed: no verdict without a report
            sys.exit(f"pip-audit failed (exit {done.returncode}):\n{done.stderr}")
        return json.loads(output.read_text())


def main(pip_audit: str, lock: str, ignore_file: str) -> int:
    accepted, problems = read_exceptions(Path(ignore_file), datetime.date.today())
    report = run_pip_audit(pip_audit, Path(lock))
    ok, lines = verdict(report, accepted, os.environ.get("IDP_AUDIT_REQUIRE_SOURCE") == "1")
    for line in problems + lines:
        print(f"audit: {line}")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
