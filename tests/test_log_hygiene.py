"""No password, code, token, secret or activation link in any log line of the whole test run
(this test runs last; see conftest.every_log_line and tests/secrets_seen.py)."""

import json

import pytest

from tests import secrets_seen
from tests.test_oidc_flow import sign_in_at


@pytest.mark.last
@pytest.mark.parametrize("backend", ["postgres"])
def test_no_secret_the_tests_used_is_in_any_log_line(world):
    parent, rp = world  # a full journey of its own, so there is always something to find
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    rp.refresh(tokens["refresh_token"])
    parent.log_out()
    assert secrets_seen.SEEN >= {tokens["access_token"], tokens["refresh_token"], parent.secret}
    logged = {path: path.read_text(encoding="utf-8") for path in secrets_seen.LOG_FILES
              if path.exists()}
    own = logged[secrets_seen.LOG_FILES[0]]
    assert "/activeren/<token>" in own and '"route": ' in own  # it did log the journey
    for line in own.splitlines():
        json.loads(line)  # every line is one JSON object
    leaks = {str(path): secrets_seen.leaks_in(text) for path, text in logged.items()}
    assert {path: found for path, found in leaks.items() if found} == {}
