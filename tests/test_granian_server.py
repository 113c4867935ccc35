"""idp.granian_server's own parts (the server itself runs in tests/test_gunicorn*.py, beside
gunicorn): what gunicorn.conf.py's hooks do, done in a worker after granian forks it."""

import os
import socket
import subprocess
import sys

import requests

from idp import granian_server


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
