"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

The fallback HTTP server: the image runs idp.granian_server, which serves the app the same way;
the image keeps this file at /app/gunicorn.conf.py and the Helm chart runs it with
``web.server: gunicorn``. Sizes and timeouts come from the environment (idp.serving, read by
both servers) so an operator tunes them in the chart's values, not by rebuilding the image.

Shutdown: on SIGTERM gunicorn stops accepting connections, lets every in-flight request finish
for up to GUNICORN_GRACEFUL_TIMEOUT seconds, then exits. Kubernetes waits
terminationGracePeriodSeconds (after the preStop sleep) before it sends SIGKILL, so the chart
keeps that period longer than the preStop sleep plus this timeout.
"""

import os

from idp import serving

_settings = serving.read()  # the environment idp.granian_server reads too
# Two listeners: the app answers /metrics only on the metrics port, so the Ingress (which routes
# to 8000) never exposes it and the NetworkPolicy can let only monitoring reach the other port.
bind = [f"{_settings.host}:{_settings.port}", f"{_settings.host}:{_settings.metrics_port}"]

worker_class = "gthread"  # threads: a slow SMTP or argon2 hash does not block the whole worker
workers = _settings.workers
# Each thread that has hashed a password keeps argon2id's 19 MiB in its own malloc arena: a
# worker peaks at ~141 MiB with 2 threads, ~19.5 MiB more per extra thread (docs/performance.md: Memory).
threads = _settings.threads
timeout = _settings.timeout  # a worker silent this long is killed and replaced
graceful_timeout = _settings.graceful_timeout
keepalive = _settings.keepalive  # above 5 s only behind a proxy that keeps longer

# The app is loaded once, in the master, before the workers are forked: they share its modules
# copy-on-write instead of each loading a copy (~40 MiB less private memory per worker). Loading
# it opens no database or Redis connection and starts no thread; the pools are reset in each
# worker all the same, and the in-process worker thread (IDP_WORKER=thread, or auto without Redis)
# starts there (post_worker_init), since a thread does not survive a fork. wsgi.py leaves it to us:
preload_app = True
serving.preloading("gunicorn.conf.py")

# No access log: activation links carry their token in the path (/activeren/<token>). The app
# logs each request itself, without it. Errors still go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# No control socket: it would be a file under $HOME (read-only in the container) and an
# extra way in; Kubernetes manages the process.
control_socket_disable = True
# The heartbeat files of the workers: /tmp is the one writable place (an emptyDir).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/tmp")


def pre_fork(server, worker):
    """The loaded app's objects stay out of the garbage collector's reach in the workers: a
    collection writes to every object it visits, which would copy the shared pages."""
    import gc

    gc.freeze()


def post_worker_init(worker):
    serving.after_fork(worker.wsgi)


def child_exit(server, worker):
    """Prometheus multi-process mode: drop the live gauges of a worker that is gone."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_starting(server):
    serving.refuse_workers_without_redis(server.cfg.workers)
