"""Smoke test of the built image, run by .ci/image: python3 .ci/image_smoke.py IMAGE.

Runs the image with podman the way the Helm chart runs it (user 10001, read-only root file
system, a tmpfs on /tmp only, every capability dropped, no privilege escalation) against the CI
PostgreSQL and Redis, and checks that:

- the image holds no compiler, pip, tests or key material, says it runs as 10001, and its
  command is granian's launcher (python3 -m idp.granian_server);
- `idp db upgrade` (the chart's hook Job) migrates a new database and makes signing keys;
- the image's command serves the app (a page too) on its port and /metrics on the metrics
  port, and `idp worker --once` runs;
- SIGTERM (podman stop, as the kubelet does) lets an in-flight request finish and exits 0;
- the same for the documented fallback, gunicorn with /app/gunicorn.conf.py.

Standard library only: it runs on the CI machine's own python3, outside the project's venv.
"""

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request

IMAGE = sys.argv[1]
RUN = f"{os.getpid()}"
DATABASE = f"idp_image_{RUN}"
PREFIX = f"idp-image:{RUN}:"

# This machine's sandbox: cgroup v1 only (crun refuses it, runc works) and no CAP_SYS_RESOURCE
# (limits may not be raised, so ask for ones below the host's). A normal host needs none of it.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
HARDENED = [
    "--ulimit", "nofile=16384:16384", "--ulimit", "nproc=4096:4096",
    "--network", "host",  # its own ports on loopback, picked free below
    "--user", "10001:10001", "--read-only", "--read-only-tmpfs=false",
    "--tmpfs", "/tmp:rw,size=64m,mode=1777", "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, text=True, capture_output=True, **kwargs)


def podman_run(env_file: str, *args: str) -> str:
    done = run(*PODMAN, "run", "--rm", *HARDENED, "--env-file", env_file, IMAGE, *args, check=False)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return done.stdout


def check_image_contents() -> None:
    config = json.loads(run("buildah", "inspect", "--type", "image", IMAGE).stdout)
    docker = config["Docker"]["config"]
    assert docker["User"] == "10001:10001", docker["User"]
    assert docker["Cmd"] == GRANIAN, docker["Cmd"]
    assert "/healthz" in " ".join(docker["Healthcheck"]["Test"]), docker.get("Healthcheck")
    assert docker["Labels"]["org.opencontainers.image.title"] == "Ouderportaal"
    found = run(*PODMAN, "run", "--rm", *HARDENED, "--entrypoint", "sh", IMAGE, "-c",
                "for t in gcc cc make pip pip3; do command -v $t; done;"
                " ls -d /app/tests /app/keys /app/instance /app/.git 2>/dev/null;"
                " python3 -c 'import pip' 2>/dev/null && echo pip-module; id -u", check=False)
    assert found.stdout.split() == ["10001"], f"unexpected in the image: {found.stdout}{found.stderr}"


#: The image's command, and the fallback (docs/operations.md: the HTTP server).
GRANIAN = ["python3", "-m", "idp.granian_server"]
GUNICORN = ["gunicorn", "-c", "/app/gunicorn.conf.py", "idp.wsgi:app"]


def slow_request(port: int, result: dict) -> None:
    """A request still arriving when SIGTERM comes: its body trickles in over two seconds."""
    body = b"grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"POST /token HTTP/1.1\r\nHost: idp.example.test\r\nConnection: close\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        result["sent_headers"] = time.monotonic()
        for i in range(0, len(body), len(body) // 8 + 1):
            conn.sendall(body[i:i + len(body) // 8 + 1])
            time.sleep(0.25)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    result["status_line"] = answer.split(b"\r\n", 1)[0].decode()


def main() -> None:
    check_image_contents()
    port, metrics_port = free_port(), free_port()
    kek = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    env = {
        "IDP_ISSUER": "https://idp.example.test",
        "IDP_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
        "IDP_REDIS_URL": "redis://127.0.0.1:6379/0",
        "IDP_REDIS_PREFIX": PREFIX,
        "IDP_SECRET_KEY": secrets.token_urlsafe(48),
        "IDP_KEY_ENCRYPTION_KEY": kek,
        "IDP_SMTP_URL": "smtp://127.0.0.1:1",  # never used here
        "IDP_WORKER": "off",
        "GUNICORN_PORT": str(port),
        "IDP_METRICS_PORT": str(metrics_port),
        "GUNICORN_GRACEFUL_TIMEOUT": "20",
    }
    env_file = f"/tmp/ouderportaal-image-{RUN}.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in env.items()))
    run("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", f'CREATE DATABASE "{DATABASE}"')
    try:
        print(podman_run(env_file, "idp", "db", "upgrade").strip())
        serve_and_stop(env_file, f"ouderportaal-smoke-{RUN}", port, metrics_port, [], "granian")
        print(podman_run(env_file, "idp", "worker", "--once").strip())
        serve_and_stop(env_file, f"ouderportaal-smoke-gunicorn-{RUN}", port, metrics_port,
                       GUNICORN, "gunicorn")
        print("image smoke test: passed")
    finally:
        os.unlink(env_file)
        run("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
            f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', check=False)
        keys = run("redis-cli", "-h", "127.0.0.1", "--scan", "--pattern", f"{PREFIX}*", check=False)
        if keys.stdout.split():
            run("redis-cli", "-h", "127.0.0.1", "del", *keys.stdout.split(), check=False)


def serve_and_stop(env_file: str, name: str, port: int, metrics_port: int, command: list[str],
                   server: str) -> None:
    """Run the image with ``command`` (empty: its own) as the chart does, check what it serves,
    then stop it as the kubelet does, with a request still arriving."""
    run(*PODMAN, "run", "-d", "--name", name, *HARDENED, "--env-file", env_file, IMAGE, *command)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz", name) == "ok\n"
        assert wait_for(f"http://127.0.0.1:{port}/readyz", name) == "ready\n"
        # Through the ingress the Host is the issuer's; any other is refused (probes excepted).
        jwks = wait_for(f"http://127.0.0.1:{port}/jwks", name, host="idp.example.test")
        assert {key["alg"] for key in json.loads(jwks)["keys"]} >= {"RS256", "ES256"}, jwks
        # A page: its template and static files come from the installed wheel.
        page = wait_for(f"http://127.0.0.1:{port}/inloggen", name, host="idp.example.test")
        assert "<h1>Inloggen</h1>" in page, page[:500]
        assert "body" in wait_for(f"http://127.0.0.1:{port}/static/style.css", name,
                                  host="idp.example.test")
        metrics = wait_for(f"http://127.0.0.1:{metrics_port}/metrics", name)
        assert "idp_request_duration_seconds" in metrics, metrics[:500]

        result: dict = {}
        client = threading.Thread(target=slow_request, args=(port, result))
        client.start()
        while "sent_headers" not in result:
            time.sleep(0.05)
        time.sleep(0.3)
        stopping = time.monotonic()
        run(*PODMAN, "stop", "--time", "30", name)  # SIGTERM, then SIGKILL after 30 s
        client.join(timeout=30)
        state = json.loads(run(*PODMAN, "inspect", name).stdout)[0]["State"]
        logs = run(*PODMAN, "logs", name).stdout + run(*PODMAN, "logs", name).stderr
        assert f"starting {server}" in logs.lower(), logs  # the server meant to run
        assert result.get("status_line", "").startswith("HTTP/1.1 "), (result, logs)
        assert state["ExitCode"] == 0, (state, logs)
        print(f"{server}: SIGTERM let the in-flight request finish ('{result['status_line']}'), "
              f"container exited 0 after {time.monotonic() - stopping:.1f} s")
    finally:
        run(*PODMAN, "rm", "-f", name, check=False)


def wait_for(url: str, name: str, host: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.5)
    logs = run(*PODMAN, "logs", name, check=False)
    raise AssertionError(f"{url} did not answer:\n{logs.stdout}{logs.stderr}")


if __name__ == "__main__":
    main()
