"""idp.granian_server's own parts (the server itself runs in tests/test_gunicorn*.py, beside
gunicorn): what gunicorn.conf.py's hooks do, done in a worker after granian forks it."""

import os
import socket
import subprocess
import sys

import requests

from idp import granian_server
from tests.processes import server_env_only


def a_dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_a_new_worker_drops_the_live_gauges_of_workers_that_are_gone(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    dead, alive = a_dead_pid(), os.getpid()
    for name in (f"gauge_livesum_{dead}.db", f"gauge_liveall_{dead}.db", f"counter_{dead}.db",
                 f"gauge_livesum_{alive}.db", f"histogram_{alive}.db"):
        (tmp_path / name).write_bytes(b"")
    granian_server._forget_dead_workers()
    # Counters of a dead worker still count; its live gauges do not; a live worker keeps all.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{dead}.db", f"gauge_livesum_{alive}.db", f"histogram_{alive}.db"])


def test_a_worker_answers_scrapes_on_the_metrics_socket_the_master_bound(app):
    """Each worker answers the shared metrics socket with the app, which tells the port by
    SERVER_PORT (gunicorn's second bind; the main port's 404 is in tests/test_gunicorn.py)."""
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    app.config["IDP_METRICS_PORT"] = port
    server = granian_server._metrics_listener(app, listening)
    try:
        scrape = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert scrape.status_code == 200
        assert "idp_sign_ins" in scrape.text and "idp_active_sessions" in scrape.text
    finally:
        server.shutdown()
        server.server_close()


class _Recorded:
    """Stands in for granian.Granian: what main() asked for, without serving."""

    made: dict = {}

    def __init__(self, target, **options):
        _Recorded.made = {"target": target, **options}

    def serve(self, target_loader, wrap_loader):
        _Recorded.made["wrap_loader"] = wrap_loader


def launched(monkeypatch, **env) -> dict:
    """idp.granian_server.main() with ``env``: the options it gives granian (the app not loaded,
    nothing served; the metrics port is bound and let go)."""
    import gc
    import types

    import granian

    server_env_only(monkeypatch, GUNICORN_HOST="127.0.0.1", IDP_METRICS_PORT="0", **env)
    monkeypatch.setenv("IDP_REDIS_URL", "redis://127.0.0.1:1/0")  # never asked: 2 workers need it
    monkeypatch.setattr(granian, "Granian", _Recorded)
    monkeypatch.setitem(sys.modules, "idp.wsgi", types.SimpleNamespace(app=object()))
    monkeypatch.setattr(gc, "freeze", lambda: None)
    bound = []
    monkeypatch.setattr(socket, "create_server", lambda *a, _bind=socket.create_server, **k:
                        bound.append(_bind(*a, **k)) or bound[-1])
    try:
        granian_server.main()
    finally:
        for listening in bound:
            listening.close()
    return _Recorded.made


def test_granian_takes_sizes_and_timeouts_from_the_environment(monkeypatch):
    """The same settings as gunicorn.conf.py (tests/test_image.py), read the same way."""
    made = launched(monkeypatch)
    assert (made["address"], made["port"], made["workers"], made["blocking_threads"]) == (
        "127.0.0.1", 8000, 2, 2)
    assert made["workers_kill_timeout"] == 25  # GUNICORN_GRACEFUL_TIMEOUT
    assert made["http1_settings"].header_read_timeout == 5000  # GUNICORN_KEEPALIVE, in ms
    assert made["log_access"] is False  # activation links carry their token in the path
    assert made["wrap_loader"] is False  # the loaded app itself, after the fork
    made = launched(monkeypatch, GUNICORN_PORT="8080", GUNICORN_WORKERS="5", GUNICORN_THREADS="8",
                    GUNICORN_GRACEFUL_TIMEOUT="40", GUNICORN_KEEPALIVE="75")
    assert (made["port"], made["workers"], made["blocking_threads"]) == (8080, 5, 8)
    assert made["workers_kill_timeout"] == 40
    assert made["http1_settings"].header_read_timeout == 75000
