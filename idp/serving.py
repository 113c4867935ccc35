"""What the production HTTP server does, whichever it is (gunicorn.conf.py, idp.granian_server):
the same settings from the environment (the Helm chart sets them), the same refusal of several
workers without Redis, and the same work in each worker after the fork."""

import os
from typing import NamedTuple


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


class ServerSettings(NamedTuple):
    host: str
    port: int
    metrics_port: int
    workers: int
    threads: int
    timeout: int
    graceful_timeout: int
    keepalive: int


def read() -> ServerSettings:
    return ServerSettings(
        host=os.environ.get("GUNICORN_HOST", "0.0.0.0"),
        port=env_int("GUNICORN_PORT", 8000),
        metrics_port=env_int("IDP_METRICS_PORT", 9100),
        workers=env_int("GUNICORN_WORKERS", 2),
        threads=env_int("GUNICORN_THREADS", 2),
        timeout=env_int("GUNICORN_TIMEOUT", 30),
        graceful_timeout=env_int("GUNICORN_GRACEFUL_TIMEOUT", 25),
        keepalive=env_int("GUNICORN_KEEPALIVE", 5),
    )


def refuse_workers_without_redis(workers: int) -> None:
    """Several workers need Redis: the in-process store would give each its own sessions."""
    if workers > 1 and not os.environ.get("IDP_REDIS_URL"):
        raise SystemExit(
            f"IDP_REDIS_URL is not set, but GUNICORN_WORKERS is {workers}: sessions "
            "would live in one worker only. Set IDP_REDIS_URL, or run one worker."
        )


#: Set by a server that loads idp.wsgi before forking: the app's worker thread is then started in
#: each worker (``after_fork``), never in the process that forks (a thread does not survive it).
PRELOADED_BY = "IDP_WORKER_THREAD_STARTED_BY"


def preloading(server: str) -> None:
    os.environ[PRELOADED_BY] = server


def preloaded() -> bool:
    return bool(os.environ.get(PRELOADED_BY))


def after_fork(app) -> None:
    """In each worker, after the fork: fresh connection pools, and the in-process worker thread."""
    from idp import worker as background
    from idp.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # SQLAlchemy's advice for a fork: never share a connection
    if background.wanted_in_process(app):
        background.start_thread(app)
