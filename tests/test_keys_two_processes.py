"""Two running app processes sharing PostgreSQL and Redis: a key change made with the `idp`
command reaches both within IDP_KEYS_CACHE_TTL, with no restart.

The only test that waits on the real clock: a cache bound between processes cannot be shown
with a frozen one. A one-second cache TTL keeps it short.
"""

import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import select

from idp.extensions import db
from idp.models import SigningKey
from idp.settings import PROJECT_ROOT
from tests.processes import WebProcess, environment

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
