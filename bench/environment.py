"""What a benchmark run owns and must clean up: its PostgreSQL database, its Redis key prefix,
a temporary folder, and the processes it starts (the service, the peer). ``Environment`` is a
context manager; leaving it, however (an error, Ctrl-C, SIGTERM), drops and stops all of it.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import redis

from idp.crypto import new_kek
from idp.settings import PROJECT_ROOT

PG_ADMIN_URL = os.environ.get("IDP_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("IDP_BENCH_REDIS", "redis://127.0.0.1:6379/0")
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


class Process:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path, cwd: Path = PROJECT_ROOT):
        self.name, self.log = name, log
        self._log_file = open(log, "wb")
        # Its own process group: a Ctrl-C reaches us first, and we stop it in order.
        self.popen = subprocess.Popen(args, env=env, cwd=cwd, stdout=self._log_file,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log_file.close()


def database_url(name: str) -> str:
    """SQLAlchemy's URL of database ``name`` on the benchmark's server."""
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def forget_keys(client: redis.Redis, prefix: str) -> None:
    """Every key under ``prefix`` (sessions' schedules never expire by themselves)."""
    batch = []
    for key in client.scan_iter(f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


class Environment:
    def __init__(self, keep_folder: bool = False):
        run_id = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.database = f"idp_bench_{run_id}"
        self.prefix = f"idpbench:{run_id}:"
        self.folder = Path(tempfile.mkdtemp(prefix="idp-bench-"))
        self.keep_folder = keep_folder
        self.processes: list[Process] = []
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.database_url = database_url(self.database)
        self.settings = {
            "IDP_DATABASE_URL": self.database_url,
            "IDP_REDIS_URL": REDIS_URL,
            "IDP_REDIS_PREFIX": self.prefix,
            "IDP_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "IDP_KEY_ENCRYPTION_KEY": new_kek(),
            "IDP_INSTANCE_DIR": str(self.folder / "instance"),
            "IDP_KEYS_DIR": str(self.folder / "keys"),
        }

    # --- entering and leaving ---------------------------------------------------------------
    def __enter__(self):
        self._previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        # Also when started in the background, where a shell leaves SIGINT ignored.
        self._previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
        create_database(self.database)
        return self

    def __exit__(self, *exc):
        for process in reversed(self.processes):
            process.stop()
        drop_database(self.database)
        forget_keys(self.redis, self.prefix)
        self.redis.close()
        if not self.keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        signal.signal(signal.SIGTERM, self._previous_term)
        signal.signal(signal.SIGINT, self._previous_int)
        return False

    # --- the service and the peer -----------------------------------------------------------
    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "GUNICORN_"))}
        env.update(self.settings)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def run_idp(self, *args: str, **extra) -> str:
        result = subprocess.run([str(VENV_BIN / "idp"), *args], env=self.env(**extra),
                                cwd=PROJECT_ROOT, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"idp {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self, name: str, args: list[str], env: dict, ready_url: str,
              cwd: Path = PROJECT_ROOT, timeout: float = 60) -> Process:
        process = Process(name, args, env, self.folder / f"{name}.log", cwd)
        self.processes.append(process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                break
            try:
                with socket.create_connection(_host_port(ready_url), timeout=1) as sock:
                    path = ready_url.split("/", 3)[3] if ready_url.count("/") >= 3 else ""
                    sock.sendall(f"GET /{path} HTTP/1.0\r\n\r\n".encode())
                    if b" 200 " in sock.recv(64):
                        return process
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not start:\n{process.log.read_text()[-3000:]}")


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.split("/")[2].split(":")
    return host, int(port)
