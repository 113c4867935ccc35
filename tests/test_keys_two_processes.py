"""Two running app processes sharing PostgreSQL and Redis: a key change made with the `idp`
command reaches both within IDP_KEYS_CACHE_TTL, with no restart.

The only test that waits on the real clock: a cache bound between processes cannot be shown
with a frozen one. A one-second cache TTL keeps it short.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import select

from idp.extensions import db
from idp.models import SigningKey
from idp.settings import PROJECT_ROOT
from tests.conftest import KEK

CACHE_TTL = 1
#: Time for a request and the scheduler on a busy machine, on top of the documented bound.
SLACK = 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kid_in(app, alg, state):
    with app.app_context():
        key = db.session.scalar(select(SigningKey).where(SigningKey.alg == alg,
                                                         SigningKey.state == state))
        db.session.remove()
        return key


def jwks(port):
    return requests.get(f"http://127.0.0.1:{port}/jwks", timeout=5)


def kids(port) -> set[str]:
    return {key["kid"] for key in jwks(port).json()["keys"]}


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
    config = app.config
    return {
        **os.environ,
        "IDP_DATABASE_URL": config["IDP_DATABASE_URL"],
        "IDP_REDIS_URL": config["IDP_REDIS_URL"],
        "IDP_REDIS_PREFIX": config["IDP_REDIS_PREFIX"],
        "IDP_KEY_ENCRYPTION_KEY": KEK,
        "IDP_SECRET_KEY": "test-secret-key",
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
        "IDP_KEYS_CACHE_TTL": str(CACHE_TTL),
        "IDP_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def two_processes(service_env, tmp_path):
    ports = [free_port(), free_port()]
    logs = [open(tmp_path / f"server-{port}.log", "w") for port in ports]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"],
            cwd=PROJECT_ROOT, env=service_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the arbiter and its worker
        )
        for port, log in zip(ports, logs)
    ]
    try:
        for port, process in zip(ports, processes):
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, (tmp_path / f"server-{port}.log").read_text()
                try:
                    if jwks(port).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        yield list(zip(ports, processes))
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)  # the groups started above; nothing to save
        for process in processes:
            process.wait(timeout=10)
        for log in logs:
            log.close()


def idp_command(env, *args):
    result = subprocess.run([sys.executable, "-c", "from idp.cli import main; main()", *args],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_cli_rotation_reaches_both_processes_within_the_cache_ttl(app, backend, service_env,
                                                                   two_processes):
    ports = [port for port, _ in two_processes]
    for port in ports:
        assert jwks(port).headers["Cache-Control"] == f"public, max-age={CACHE_TTL}"
    active, waiting = kid_in(app, "RS256", "active"), kid_in(app, "RS256", "next")
    assert all(kids(port) >= {active.kid, waiting.kid} for port in ports)  # both have loaded

    # The suite's next key may be younger than the lead time (2 x the cache TTL).
    time.sleep(max(0.0, waiting.created_at + 2 * CACHE_TTL - time.time()))
    idp_command(service_env, "keys", "rotate", "--alg", "RS256", "--actor", "two processes")
    new_next = kid_in(app, "RS256", "next").kid
    for port in ports:
        assert within(CACHE_TTL + SLACK, lambda: new_next in kids(port)), port

    # The same command run from this process (quicker to start) revokes the retired key.
    revoked = app.test_cli_runner().invoke(args=["keys", "revoke", active.kid, "--yes"])
    assert revoked.exit_code == 0, revoked.output
    for port in ports:
        assert within(CACHE_TTL + SLACK, lambda: active.kid not in kids(port)), port

    assert all(process.poll() is None for _, process in two_processes)  # no restart
