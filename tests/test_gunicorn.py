"""The image's command outside a container: `python -m idp.granian_server` (and the fallback,
`gunicorn -c gunicorn.conf.py wsgi:app`: every test runs on both) with the production settings
(PostgreSQL, Redis, secrets from the environment) serves on both ports,
writes nothing to disk, logs no request paths, and on SIGTERM lets an in-flight request finish
before it exits 0. (.ci/image runs the same in the real image, read-only and non-root.)
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib
import requests

from idp.settings import PROJECT_ROOT
from tests.conftest import KEK, REDIS_URL, RUN_ID
from tests.processes import SERVERS, free_port, wait_until_serving

ACTIVATION_TOKEN = "tokenThatMustNeverBeLogged_8d1f0c"
#: As the ingress passes it on; any other Host is refused with an https issuer.
ISSUER_HOST = {"Host": "idp.example.test"}


@pytest.fixture(params=SERVERS)
def server(request, postgres_url, tmp_path):
    http_port, metrics_port = free_port(), free_port()
    prefix = f"idptest:{RUN_ID}:gunicorn:"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IDP_", "GUNICORN_", "PROMETHEUS_"))}
    env.update(
        IDP_ISSUER="https://idp.example.test", IDP_DATABASE_URL=postgres_url,
        IDP_REDIS_URL=REDIS_URL, IDP_REDIS_PREFIX=prefix, IDP_SECRET_KEY="gunicorn-test-secret",
        IDP_KEY_ENCRYPTION_KEY=KEK, IDP_SMTP_URL="smtp://127.0.0.1:1", IDP_WORKER="off",
        # Where the embedded default would write: must stay absent with every setting given.
        IDP_INSTANCE_DIR=str(tmp_path / "instance"), IDP_KEYS_DIR=str(tmp_path / "keys"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        GUNICORN_HOST="127.0.0.1", GUNICORN_PORT=str(http_port), IDP_METRICS_PORT=str(metrics_port),
        GUNICORN_WORKERS="2", GUNICORN_THREADS="2", GUNICORN_GRACEFUL_TIMEOUT="10",
        GUNICORN_WORKER_TMP_DIR=str(tmp_path),
    )
    (tmp_path / "prometheus").mkdir()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(SERVERS[request.param], cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_until_serving(f"{url}/healthz", process, log.read_text)
        yield SimpleServer(process, url, http_port, metrics_port, log, tmp_path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        with redis_lib.Redis.from_url(REDIS_URL) as r:
            for key in r.scan_iter(f"{prefix}*"):
                r.delete(key)


@dataclass
class SimpleServer:
    process: subprocess.Popen
    url: str
    http_port: int
    metrics_port: int
    log: Path
    folder: Path


def raw_head(port: int, target: str, extra_headers: str = "") -> str:
    """A GET's status line and headers as they came over the wire (requests folds repeats)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: idp.example.test\r\n{extra_headers}"
                     "Connection: close\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received and (chunk := conn.recv(65536)):
            received += chunk
    return received.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def trickling_post(port: int, result: dict) -> None:
    """A token request whose body arrives over about two seconds."""
    body = b"grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb"
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(b"POST /token HTTP/1.1\r\nHost: idp.example.test\r\nConnection: close\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        result["started"] = True
        step = len(body) // 8 + 1
        for i in range(0, len(body), step):
            conn.sendall(body[i:i + step])
            time.sleep(0.25)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    result["answer"] = answer


def test_serves_both_ports_and_writes_nothing(server):
    assert requests.get(f"{server.url}/.well-known/openid-configuration", headers=ISSUER_HOST,
                        timeout=5).json()["issuer"] == "https://idp.example.test"
    # The pod's own address is not the issuer's host: refused, except for probes and metrics.
    refused = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=5)
    assert refused.status_code == 400
    assert requests.get(f"{server.url}/healthz", timeout=5).text == "ok\n"
    assert requests.get(f"{server.url}/readyz", timeout=5).text == "ready\n"
    # /metrics only on the metrics port, never on the port the ingress routes to.
    metrics = requests.get(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5)
    assert metrics.status_code == 200 and "idp_request_duration_seconds" in metrics.text
    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 404
    requests.get(f"{server.url}/activeren/{ACTIVATION_TOKEN}", headers=ISSUER_HOST, timeout=5)
    # One Date per response (RFC 9110 6.6.1), the server's: below Flask, through Flask, a 304.
    for target, extra in (("/jwks", ""), ("/jwks?via=flask", ""), ("/healthz", ""),
                          ("/jwks", "If-None-Match: *\r\n")):
        head = raw_head(server.http_port, target, extra)
        assert head.lower().count("\r\ndate: ") == 1, head
    assert not (server.folder / "instance").exists()
    assert not (server.folder / "keys").exists()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    assert ACTIVATION_TOKEN not in server.log.read_text()  # no access log


def healthz_count(server) -> float:
    scrape = requests.get(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5).text
    found = re.search(r'^idp_request_duration_seconds_count\{endpoint="health.healthz"\} (\S+)$',
                      scrape, re.M)
    return float(found[1]) if found else 0.0


def test_a_scrape_counts_the_requests_of_every_worker(server):
    """Prometheus multi-process mode (PROMETHEUS_MULTIPROC_DIR, as in the image): whichever
    worker answers a scrape, it sums what both workers served."""
    before = healthz_count(server)
    sent = 0
    served_by = set()  # the workers that recorded a request: one file each
    while len(served_by) < 2 and sent < 600:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: requests.get(f"{server.url}/healthz", timeout=5)
                                     .status_code, range(60)))
        assert set(statuses) == {200}
        sent += len(statuses)
        served_by = {f.name for f in (server.folder / "prometheus").glob("histogram_*.db")}
    assert len(served_by) == 2, served_by  # both workers served
    assert [healthz_count(server) - before for _ in range(6)] == [sent] * 6


def test_sigterm_lets_the_in_flight_request_finish(server):
    result: dict = {}
    client = threading.Thread(target=trickling_post, args=(server.http_port, result))
    client.start()
    while "started" not in result:
        time.sleep(0.01)
    time.sleep(0.3)  # the worker is now reading the body
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    client.join(timeout=15)
    # The request got its whole answer (invalid client: no credentials), not a reset.
    assert result["answer"].startswith(b"HTTP/1.1 401 "), result
    assert server.process.wait(timeout=15) == 0
    assert time.monotonic() - sent > 1  # it waited for the request, not cut it off
    with pytest.raises(requests.ConnectionError):  # and then no longer listens
        requests.get(f"{server.url}/jwks", timeout=2)


@pytest.mark.parametrize("command", SERVERS.values(), ids=SERVERS)
def test_several_workers_without_redis_are_refused(command, tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IDP_", "GUNICORN_", "PROMETHEUS_"))}
    env.update(GUNICORN_WORKERS="2", GUNICORN_HOST="127.0.0.1", GUNICORN_PORT=str(free_port()),
               IDP_METRICS_PORT=str(free_port()), IDP_INSTANCE_DIR=str(tmp_path / "instance"),
               IDP_KEYS_DIR=str(tmp_path / "keys"), GUNICORN_WORKER_TMP_DIR=str(tmp_path))
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0
    assert "IDP_REDIS_URL is not set, but GUNICORN_WORKERS is 2" in result.stdout + result.stderr
