"""granian serving the app the way gunicorn.conf.py has gunicorn serve it:
``python -m idp.granian_server``, with the same environment (idp.serving). The image's command
since issue 16; ``gunicorn -c gunicorn.conf.py idp.wsgi:app`` is the fallback (the Helm chart's
``web.server``).

What gunicorn.conf.py does, and how it is done here:
- The app is loaded once, in this (the master) process, and the workers are forked from it
  (granian forks on Linux): they share its modules copy-on-write. The garbage collector is kept
  off the loaded objects before the fork (``gc.freeze``), as gunicorn.conf.py's pre_fork does.
- In each worker, after the fork (granian's target loader runs there): fresh connection pools,
  the in-process worker thread where it is wanted, and the gauges of workers that are gone
  dropped (gunicorn's child_exit).
- ``/metrics`` only on ``IDP_METRICS_PORT``: granian binds one address, so this process binds
  the metrics port before the fork and each worker answers it from a thread of its own, with the
  same app (which answers ``/metrics`` only there, by SERVER_PORT, and 404 on the main port).
- Several workers without Redis are refused before anything starts.
- SIGTERM: granian stops accepting, lets in-flight requests finish for up to
  ``GUNICORN_GRACEFUL_TIMEOUT`` seconds (its workers' kill timeout), then exits 0.
- No access log (activation links carry their token in the path); the app logs each request.
- Not done: gunicorn's ``timeout`` (a worker silent that long is killed and replaced). granian
  has no such watchdog. Redis and SMTP calls have socket timeouts of their own, and a statement
  stuck in PostgreSQL (a lock wait) is cancelled after ``IDP_DATABASE_STATEMENT_TIMEOUT``
  seconds (idp.database): the request gets the 503 of an unavailable database.
"""

import gc
import os
import socket
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from idp import serving


class _QuietHandler(WSGIRequestHandler):
    """A scrape is logged by the app's own request log line, like every request."""

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def _metrics_listener(app, listening: socket.socket) -> WSGIServer:
    """Answer scrapes on the socket the master bound (shared by every worker) in a thread."""
    host, port = listening.getsockname()[:2]
    server = WSGIServer((host, port), _QuietHandler, bind_and_activate=False)
    server.socket.close()  # the one made by the constructor; the shared one takes its place
    server.socket = listening
    # The address itself, not socket.getfqdn's reverse lookup (a DNS wait at each start).
    server.server_name, server.server_port = host, port
    server.setup_environ()
    server.set_app(app)
    threading.Thread(target=server.serve_forever, name="idp-metrics", daemon=True).start()
    return server


def _forget_dead_workers() -> None:
    """Prometheus multi-process mode: the live gauges of workers that are gone (gunicorn's
    child_exit). A worker that granian respawns runs this first."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    from prometheus_client import multiprocess

    for name in os.listdir(folder):
        pid = name.rsplit("_", 1)[-1].removesuffix(".db")
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            multiprocess.mark_process_dead(int(pid), folder)


def in_worker(app, metrics_socket: socket.socket):
    """What each worker does after the fork, before it serves: gunicorn.conf.py's
    post_worker_init and child_exit."""
    serving.after_fork(app)
    _forget_dead_workers()
    _metrics_listener(app, metrics_socket)
    return app


def main() -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    settings = serving.read()
    serving.refuse_workers_without_redis(settings.workers)
    serving.preloading("idp.granian_server")  # the workers start the worker thread (in_worker)
    from idp.wsgi import app

    metrics_socket = socket.create_server((settings.host, settings.metrics_port), backlog=64)
    server = Granian(
        "idp.wsgi:app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=settings.workers,
        blocking_threads=settings.threads,
        http=HTTPModes.http1,
        websockets=False,
        # An idle keep-alive connection is closed after this long without a request's headers.
        http1_settings=HTTP1Settings(header_read_timeout=settings.keepalive * 1000),
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=settings.graceful_timeout,
    )
    gc.freeze()  # after the last allocation before the fork, as gunicorn.conf.py's pre_fork
    server.serve(target_loader=lambda: in_worker(app, metrics_socket), wrap_loader=False)


if __name__ == "__main__":
    main()
