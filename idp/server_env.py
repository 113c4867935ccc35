"""What the production HTTP server reads from the environment, whichever server it is:
gunicorn.conf.py and idp.granian_server read the same variables (the Helm chart sets them), so
an operator sizes the service the same way under either."""

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
