"""Real service processes for multi-process tests: gunicorn with several workers, and the
worker, sharing the test's PostgreSQL database and Redis prefix, as replicas behind a load
balancer would."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from idp import serving
from idp.settings import PROJECT_ROOT
from tests import secrets_seen

SHARED_SETTINGS = (
    "IDP_DATABASE_URL", "IDP_REDIS_URL", "IDP_REDIS_PREFIX", "IDP_SECRET_KEY",
    "IDP_KEY_ENCRYPTION_KEY", "IDP_BRAND",
)


#: The production HTTP servers, as the image runs them: granian's launcher (the image's command
#: since issue 16) and gunicorn (the fallback); both read the same environment (idp.serving).
SERVERS = {
    "gunicorn": [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py",
                 "wsgi:app"],
    "granian": [sys.executable, "-m", "idp.granian_server"],
}


#: What both servers read from the environment (idp.serving, gunicorn.conf.py).
SERVER_ENV = ("GUNICORN_HOST", "GUNICORN_PORT", "IDP_METRICS_PORT", "GUNICORN_WORKERS",
              "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT",
              "GUNICORN_KEEPALIVE", "GUNICORN_WORKER_TMP_DIR", "PROMETHEUS_MULTIPROC_DIR")


def server_env_only(monkeypatch, **env) -> None:
    """The servers' settings are ``env`` and nothing else of this machine's; and no server has
    said yet that it preloads the app (the launchers set that marker as they start)."""
    for name in (*SERVER_ENV, serving.PRELOADED_BY):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, popen, problem=lambda: "did not start", seconds=30, **request):
    """Until GET ``url`` answers 200; fails the test (saying ``problem()``) if ``popen`` exits or
    ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=5, **request).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or the workers still booting
            pass
        assert time.monotonic() < deadline and popen.poll() is None, problem()
        time.sleep(0.1)


def environment(app, folder: Path, **settings) -> dict:
    """The test app's shared settings (same database, Redis prefix, keys) plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("IDP_")}
    env.update({key: str(app.config[key]) for key in SHARED_SETTINGS})
    env.update(IDP_INSTANCE_DIR=str(folder / "instance"), IDP_KEYS_DIR=str(folder / "keys"),
               IDP_LOG_LEVEL="INFO", IDP_WORKER="off",
               IDP_METRICS_PORT=str(free_port()))  # `idp worker` binds it: never a shared one
    env.update({key: str(value) for key, value in settings.items()})
    return env


class Process:
    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        secrets_seen.watch_log(log)
        self._log_file = open(log, "wb")
        self.popen = subprocess.Popen(args, env=env, cwd=PROJECT_ROOT, stdout=self._log_file,
                                      stderr=subprocess.STDOUT)

    def stop(self):
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
        self._log_file.close()


class WebProcess(Process):
    """``gunicorn wsgi:app`` with two workers on a free loopback port."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind",
                          f"127.0.0.1:{self.port}", "--no-control-socket", "wsgi:app"], env, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/jwks", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.url} did not start:\n{log.read_text()}")


def worker_process(env: dict, log: Path) -> Process:
    return Process([str(Path(sys.executable).parent / "idp"), "worker"], env, log)
