"""Two running app processes sharing PostgreSQL and Redis: a key change made with the `idp`
command reaches both within IDP_KEYS_CACHE_TTL, with no restart; a revocation within about a
second (the key-set version in Redis), however long the cache TTL.

These tests wait on the real clock: a bound between processes cannot be shown with a frozen one.
They poll with a bound; a one-second cache TTL keeps the first one short.
"""

import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import select

from joserfc import jws

from idp.extensions import db
from idp.keys import version as key_version
from idp.models import SigningKey
from idp.settings import PROJECT_ROOT
from tests.actors import Parent
from tests.processes import WebProcess, environment
from tests.test_multi_process import Browser, sign_in, token_request

CACHE_TTL = 1
#: Time for a request and the scheduler on a busy machine, on top of the documented bound.
SLACK = 1.0


def kid_in(app, alg, state):
    with app.app_context():
        key = db.session.scalar(select(SigningKey).where(SigningKey.alg == alg,
                                                         SigningKey.state == state))
        db.session.remove()
        return key


def jwks(process):
    return requests.get(f"{process.url}/jwks", timeout=5)


def kids(process) -> set[str]:
    return {key["kid"] for key in jwks(process).json()["keys"]}


def within(seconds: float, condition) -> bool:
    """Whether ``condition()`` holds at some moment in the next ``seconds`` (polling)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def service_env(app, tmp_path):
    """The environment of a production-like process on this test's PostgreSQL and Redis."""
    return environment(app, tmp_path, IDP_KEYS_CACHE_TTL=CACHE_TTL, IDP_LOG_LEVEL="WARNING")


@pytest.fixture
def two_processes(service_env, tmp_path):
    processes = []
    try:
        processes.append(WebProcess(service_env, tmp_path / "first.log"))
        processes.append(WebProcess(service_env, tmp_path / "second.log"))
        yield processes
    finally:
        for process in processes:
            process.stop()


def idp_command(env, *args):
    result = subprocess.run([sys.executable, "-c", "from idp.cli import main; main()", *args],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_cli_rotation_reaches_both_processes_within_the_cache_ttl(app, backend, service_env,
                                                                   two_processes):
    for server in two_processes:
        assert jwks(server).headers["Cache-Control"] == f"public, max-age={CACHE_TTL}"
    active, waiting = kid_in(app, "RS256", "active"), kid_in(app, "RS256", "next")
    assert all(kids(server) >= {active.kid, waiting.kid} for server in two_processes)  # both have loaded

    # The suite's next key may be younger than the lead time (2 x the cache TTL).
    time.sleep(max(0.0, waiting.created_at + 2 * CACHE_TTL - time.time()))
    idp_command(service_env, "keys", "rotate", "--alg", "RS256", "--actor", "two processes")
    new_next = kid_in(app, "RS256", "next").kid
    for server in two_processes:
        assert within(CACHE_TTL + SLACK, lambda: new_next in kids(server)), server.url

    # The same command run from this process (quicker to start) revokes the retired key.
    revoked = app.test_cli_runner().invoke(args=["keys", "revoke", active.kid, "--yes"])
    assert revoked.exit_code == 0, revoked.output
    for server in two_processes:
        assert within(CACHE_TTL + SLACK, lambda: active.kid not in kids(server)), server.url

    assert all(process.popen.poll() is None for process in two_processes)  # no restart


@pytest.fixture
def signed_in_rp(app, client, mailbox, make_org, make_client, invite):
    """A parent (no codes) and a relying party, for tokens issued by the running processes."""
    make_org(requires_2fa=False)
    registered = make_client(redirect_uris=("http://127.0.0.1/cb",))
    invite()
    Parent(client, mailbox).activate()
    return registered


def userinfo(process, access_token):
    return requests.get(f"{process.url}/userinfo", timeout=5,
                        headers={"Authorization": f"Bearer {access_token}"})


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_revocation_reaches_the_other_process_within_a_second_not_the_cache_ttl(
        app, backend, tmp_path, signed_in_rp):
    rp = signed_in_rp
    env = environment(app, tmp_path, IDP_ISSUER="http://lb.invalid", IDP_LOG_LEVEL="WARNING")
    assert int(env.get("IDP_KEYS_CACHE_TTL", 30)) == 30  # the default: far longer than the bound
    first = second = None
    try:
        first = WebProcess(env, tmp_path / "first.log")
        second = WebProcess(env, tmp_path / "second.log")
        answer = sign_in(Browser(), first, first, rp)
        tokens = token_request(first, rp, grant_type="authorization_code", code=answer["code"],
                               redirect_uri=rp["redirect_uri"],
                               code_verifier=answer["verifier"]).json()
        signed_by = jws.extract_compact(tokens["access_token"].encode()).headers()["kid"]
        assert userinfo(second, tokens["access_token"]).status_code == 200  # keys read, cached

        revoked = app.test_cli_runner().invoke(args=["keys", "revoke", signed_by, "--yes"])
        assert revoked.exit_code == 0, revoked.output
        assert "within about a second" in revoked.output

        # Polled, with a bound far below the 30 s cache: the version check, not the TTL.
        bound = key_version.CHECK_INTERVAL + SLACK + 1
        refused = lambda: userinfo(second, tokens["access_token"]).status_code == 401  # noqa: E731
        assert within(bound, refused)
        for server in (first, second):
            assert within(bound, lambda: signed_by not in kids(server)), server.url
        # Nor does it sign any more: each gunicorn worker looks at the version on its next use
        # after a second, so a refresh (rotating the refresh token each time) soon gets the
        # next key.
        held = {"refresh_token": tokens["refresh_token"]}

        def refreshed_with_another_key():
            answer = token_request(second, rp, grant_type="refresh_token",
                                   refresh_token=held["refresh_token"])
            assert answer.status_code == 200, answer.text
            held.update(answer.json())
            return jws.extract_compact(held["access_token"].encode()).headers()["kid"] != signed_by

        assert within(bound, refreshed_with_another_key)
        assert userinfo(second, held["access_token"]).status_code == 200
    finally:
        for process in (first, second):
            if process is not None:
                process.stop()
