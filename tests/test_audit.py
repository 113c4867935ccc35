"""The dependency audit's verdict (.ci/audit.py): a known vulnerability fails CI unless an
accepted exception with a reason and a future expiry date covers it; an unreachable advisory
source is said out loud, never passed off as "no known vulnerabilities"."""

import datetime
import importlib.util

import pytest

from idp.settings import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("ci_audit", PROJECT_ROOT / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

TODAY = datetime.date(2026, 11, 29)
VULN = {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001"], "fix_versions": ["3.1.7"]}
FLASK = {"name": "flask", "version": "3.1.2", "vulns": []}
JINJA = {"name": "jinja2", "version": "3.1.6", "vulns": [VULN]}
UNREACHABLE = "Dependency not found on PyPI and could not be audited"


def report(*dependencies):
    return {"dependencies": list(dependencies), "fixes": []}


def skipped(name):
    return {"name": name, "skip_reason": f"{UNREACHABLE}: {name}"}


def exceptions(tmp_path, text):
    path = tmp_path / "audit-ignore"
    path.write_text(text)
    return audit.read_exceptions(path, TODAY)


@pytest.mark.parametrize("ignore, ok", [
    ("", False),
    ("PYSEC-2099-1 2026-12-31 only the CLI is affected, we never run it (security team)\n", True),
    ("CVE-2099-0001 2026-12-31 an alias counts as well\n", True),
    ("PYSEC-2099-2 2026-12-31 another vulnerability\n", False),
], ids=["no-exception", "accepted", "accepted-by-alias", "other-exception"])
def test_a_known_vulnerability_fails_unless_accepted(tmp_path, ignore, ok):
    accepted, problems = exceptions(tmp_path, ignore)
    assert problems == []
    assert audit.verdict(report(FLASK, JINJA), accepted, require_source=False)[0] is ok


@pytest.mark.parametrize("line, problem", [
    ("PYSEC-2099-1 2026-11-28 it was fine last week", "expired on 2026-11-28"),
    ("PYSEC-2099-1 2026-12-31", "needs an id, an expiry date and a reason"),
    ("PYSEC-2099-1 soon we will upgrade", "is not a date"),
], ids=["expired", "no-reason", "no-date"])
def test_an_exception_expires_and_needs_a_reason(tmp_path, line, problem):
    accepted, problems = exceptions(tmp_path, f"# comment\n{line}\n")
    assert accepted == {} and len(problems) == 1 and problem in problems[0]


def test_an_unreachable_advisory_source_is_reported_not_hidden():
    all_skipped = report(skipped("flask"), skipped("jinja2"))
    ok, lines = audit.verdict(all_skipped, {}, require_source=False)
    assert ok and lines[-1].startswith("NOT AUDITED: none of the 2 locked dependencies")
    assert audit.verdict(all_skipped, {}, require_source=True)[0] is False


def test_one_dependency_that_could_not_be_audited_fails():
    ok, lines = audit.verdict(report(FLASK, skipped("jinja2")), {}, require_source=False)
    assert not ok and f"NOT AUDITED jinja2: {UNREACHABLE}: jinja2" in lines
