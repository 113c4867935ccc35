"""No password, code, token, secret or activation link in any log line of the whole test run
(this test runs last; see conftest.every_log_line and tests/secrets_seen.py). With pytest-xdist
it runs after every other worker has ended (tests/last_scheduling.py), and reads the secrets and
log files of all of them."""

import json
import os
from pathlib import Path

import pytest

from tests import secrets_seen
from tests.test_oidc_flow import sign_in_at


@pytest.mark.last
@pytest.mark.parametrize("backend", ["postgres"])
def test_no_secret_the_tests_used_is_in_any_log_line(world, every_log_line):
    parent, rp = world  # a full journey of its own, so there is always something to find
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    rp.refresh(tokens["refresh_token"])
    parent.log_out()
    run_folder = Path(os.environ["IDP_TEST_RUN_DIR"])
    seen, log_files = secrets_seen.everything(run_folder)
    assert seen >= {tokens["access_token"], tokens["refresh_token"], parent.secret}
    logged = {path: path.read_text(encoding="utf-8") for path in log_files if path.exists()}
    # What every test process saw (each worker and the controller share a file) and logged
    # (a JSON log per process that ran tests) is read, this one's among them.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    assert len(list(run_folder.glob("seen-*.jsonl"))) == (workers + 1 if workers else 1)
    test_logs = sorted(run_folder.glob("log-*.jsonl"))
    assert every_log_line in test_logs and set(test_logs) <= set(logged)
    assert "/activeren/<token>" in logged[every_log_line] and '"route": ' in logged[every_log_line]
    for path in test_logs:
        for line in logged[path].splitlines():
            json.loads(line)  # every line is one JSON object
    leaks = {str(path): secrets_seen.leaks_in(text, seen) for path, text in logged.items()}
    assert {path: found for path, found in leaks.items() if found} == {}
