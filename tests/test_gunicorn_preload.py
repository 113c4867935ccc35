"""gunicorn.conf.py loads the app in the master before it forks the workers (preload_app), so that
they share its memory; idp.granian_server (the image's command) does the same, and every test
runs on both. Nothing may cross the fork that the workers cannot share: the master holds
no database or Redis connection, and the in-process worker thread (IDP_WORKER=thread) runs in each
worker, never in the master (a thread does not survive a fork).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from idp.settings import PROJECT_ROOT
from tests.conftest import KEK, REDIS_URL, RUN_ID
from tests.processes import SERVERS, free_port, wait_until_serving


def start(server: str, tmp_path: Path, **settings) -> tuple[subprocess.Popen, int]:
    """The server (tests.processes.SERVERS) once it has answered one /healthz; (process, worker
    pids). The request closes its connection, so it took exactly one thread of the pool."""
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IDP_", "GUNICORN_", "PROMETHEUS_"))}
    env.update(IDP_ISSUER=f"http://127.0.0.1:{port}", IDP_KEY_ENCRYPTION_KEY=KEK,
               IDP_SECRET_KEY="preload-test-secret", IDP_INSTANCE_DIR=str(tmp_path / "instance"),
               IDP_KEYS_DIR=str(tmp_path / "keys"), GUNICORN_HOST="127.0.0.1",
               GUNICORN_PORT=str(port), IDP_METRICS_PORT=str(free_port()),
               GUNICORN_WORKER_TMP_DIR=str(tmp_path), GUNICORN_GRACEFUL_TIMEOUT="2", **settings)
    process = subprocess.Popen(SERVERS[server], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_serving(f"http://127.0.0.1:{port}/healthz", process,
                       headers={"Connection": "close"})
    deadline = time.monotonic() + 30
    while len(workers := children(process.pid)) < int(settings["GUNICORN_WORKERS"]):
        assert time.monotonic() < deadline, f"only {len(workers)} workers"
        time.sleep(0.1)
    return process, workers


def children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def sockets(pid: int) -> int:
    return sum(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
               for fd in os.listdir(f"/proc/{pid}/fd"))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=15)


@pytest.mark.parametrize("server", SERVERS)
def test_the_master_holds_the_app_but_no_connection(server, postgres_url, tmp_path):
    process, workers = start(server, tmp_path, GUNICORN_WORKERS="2", IDP_DATABASE_URL=postgres_url,
                             IDP_REDIS_URL=REDIS_URL, IDP_REDIS_PREFIX=f"idptest:{RUN_ID}:preload:",
                             IDP_WORKER="off")
    try:
        assert len(workers) == 2
        # Only its two listening sockets (the app's port and the metrics port).
        assert sockets(process.pid) == 2
        modules = Path(f"/proc/{process.pid}/maps").read_text()
        assert "_argon2" in modules  # the app's libraries are loaded in the master
    finally:
        stop(process)


@pytest.mark.parametrize("server", SERVERS)
def test_the_in_process_worker_thread_runs_in_the_worker(server, postgres_url, tmp_path):
    counts = {}
    for mode in ("off", "thread"):
        # The embedded mode: one worker, no Redis.
        process, workers = start(server, tmp_path, GUNICORN_WORKERS="1", IDP_DATABASE_URL=postgres_url,
                                 IDP_WORKER=mode)
        try:
            counts[mode] = (threads(process.pid), threads(workers[0]))
        finally:
            stop(process)
    # The master: never a thread of the app's (gunicorn's has none but its own; granian's has
    # one more, watching its worker).
    assert counts["off"][0] == counts["thread"][0] == (1 if server == "gunicorn" else 2)
    assert counts["thread"][1] == counts["off"][1] + 1  # the worker: one more, the worker loop


def test_the_loaded_app_leaves_out_what_only_commands_and_new_passwords_need(tmp_path):
    """What every worker would otherwise hold without using it (docs/performance.md: Memory): Alembic with
    Mako and Pygments (only `idp db`), zxcvbn and its word lists (only setting a password)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("IDP_")}
    env.update(IDP_KEY_ENCRYPTION_KEY=KEK, IDP_INSTANCE_DIR=str(tmp_path / "instance"),
               IDP_KEYS_DIR=str(tmp_path / "keys"), IDP_WORKER="off")
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, wsgi; print(' '.join(sorted(m for m in "
         "('alembic', 'mako', 'pygments', 'zxcvbn') if m in sys.modules)))"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == ""
