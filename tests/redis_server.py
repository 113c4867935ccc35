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
    def __init__(self, folder: Path, *extra: str):
        self.folder = folder
        self.extra = extra  # more redis-server options, e.g. --replicaof
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None
        self.paused = False

    def listen(self) -> list[str]:
        return ["--port", str(self.port)]

    def arguments(self) -> list[str]:
        return [BINARY, *self.listen(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.folder), *self.extra]

    def start(self) -> None:
        """Start (again) on the same port, empty: no snapshot, no append-only file."""
        assert self.popen is None, "already running"
        log = open(self.folder / f"redis-{self.port}.log", "ab")
        self.popen = subprocess.Popen(self.arguments(), stdout=log, stderr=subprocess.STDOUT)
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


class TlsRedisServer(RedisServer):
    """Redis that only speaks TLS (its plain port is off), with the given certificate; the URL
    trusts ``ca``."""

    def __init__(self, folder: Path, cert: Path, key: Path, ca: Path):
        super().__init__(folder)
        self.files, self.ca = (cert, key, ca), ca
        self.url = f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={ca}"

    def listen(self) -> list[str]:
        cert, key, ca = self.files
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert),
                "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
                "--tls-auth-clients", "no"]


class SentinelServer(RedisServer):
    """A Redis Sentinel of the test's own, watching ``primary`` as ``mymaster`` (quorum 1, down
    after a second: a failover in a few seconds)."""

    SERVICE = "mymaster"

    def __init__(self, folder: Path, primary: RedisServer):
        super().__init__(folder)
        self.config = folder / f"sentinel-{self.port}.conf"
        self.config.write_text("\n".join([
            f"port {self.port}", "bind 127.0.0.1", f"dir {folder}",
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {primary.port} 1",
            f"sentinel down-after-milliseconds {self.SERVICE} 1000",
            f"sentinel failover-timeout {self.SERVICE} 5000",
        ]) + "\n")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.service_url = f"redis+sentinel://127.0.0.1:{self.port}/{self.SERVICE}/0"

    def arguments(self) -> list[str]:
        return [BINARY, str(self.config), "--sentinel"]

    def primary_port(self) -> int | None:
        with redis.Redis.from_url(self.url, socket_timeout=1) as sentinel:
            answer = sentinel.sentinel_get_master_addr_by_name(self.SERVICE)
            return int(answer[1]) if answer else None

    def replica_ports(self) -> set[int]:
        with redis.Redis.from_url(self.url, socket_timeout=1) as sentinel:
            return {int(found["port"]) for found in sentinel.sentinel_slaves(self.SERVICE)}
