"""A Redis of the test's own, on a free loopback port, that the test may stop, start again on the
same port, or freeze: the outage tests take it away from a running service. Never the shared
Redis on 6379, which other test runs use."""

import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.processes import free_port

BINARY = "/usr/bin/redis-server"


class RedisServer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None
        self.paused = False

    def start(self) -> None:
        """Start (again) on the same port, empty: no snapshot, no append-only file."""
        assert self.popen is None, "already running"
        log = open(self.folder / "redis.log", "ab")
        self.popen = subprocess.Popen(
            [BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        with redis.Redis.from_url(self.url, socket_timeout=1) as probe:
            while True:
                try:
                    probe.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.popen.poll() is not None:
                        self.stop()
                        raise RuntimeError(f"redis-server did not start on {self.port}")
                    time.sleep(0.05)

    def stop(self) -> None:
        """Gone: connections are closed, new ones refused, its data is lost."""
        if self.popen is None:
            return
        if self.paused:
            self.resume()
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.popen = None

    def pause(self) -> None:
        """Hung: connections stay open, nothing answers (SIGSTOP); its data is kept."""
        self.popen.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self.popen.send_signal(signal.SIGCONT)
        self.paused = False
