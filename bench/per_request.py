"""What one request costs inside the WSGI app, without a server: CPU time, or instructions.

    python -m bench.per_request PATH [--count N] [--header 'Name: value'] [--redis]
                                     [--form 'name=value&...']   (a POST of that form)

The app is made as in production (an https issuer, JSON request logs at INFO to /dev/null, a
strict Host check), on a throw-away SQLite database and the in-process store (``--redis``: the
machine's Redis, as the key-set version check in production). Each request is a fresh WSGI
environ handed to the app; the body is read and closed as a server would. It prints the CPU
milliseconds per request of ``--count`` requests after a warm-up.

Instructions per request are steadier on a busy machine than CPU time: run it twice under
callgrind with two counts and divide the difference (``--instructions`` does that):

    python -m bench.per_request /jwks --instructions   # with valgrind; a few minutes
"""

import argparse
import io
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ISSUER = "https://idp.example"


def make_app(redis: bool):
    from idp import create_app, keys
    from idp.cli.db import upgrade
    from idp.crypto import new_kek

    folder = tempfile.mkdtemp(prefix="idp-per-request-")
    overrides = {
        "IDP_ISSUER": ISSUER,
        "IDP_SECRET_KEY": "per-request-meter",
        "IDP_KEY_ENCRYPTION_KEY": new_kek(),
        "IDP_INSTANCE_DIR": folder,
        "IDP_LOG_FORMAT": "json",
        "IDP_LOG_LEVEL": "INFO",
    }
    if redis:
        overrides["IDP_REDIS_URL"] = os.environ.get("IDP_BENCH_REDIS", "redis://127.0.0.1:6379/0")
        overrides["IDP_REDIS_PREFIX"] = f"per-request-{os.getpid()}:"
    app = create_app(overrides)
    with app.app_context():
        upgrade()
        keys.ensure_keys("bench")
    # The JSON lines are made (that is the cost) but go nowhere.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))
    return app


def environ_for(path: str, headers: list[str], form: str | None = None):
    from werkzeug.test import EnvironBuilder

    body = {} if form is None else {
        "method": "POST", "data": form.encode(),
        "content_type": "application/x-www-form-urlencoded"}
    builder = EnvironBuilder(path=path, base_url=ISSUER,
                             headers=[tuple(h.split(": ", 1)) for h in headers], **body)
    environ = builder.get_environ()
    environ["SERVER_PORT"] = "8000"
    environ["bench.body"] = environ["wsgi.input"].read()
    return environ


def run(app, environ, count: int) -> None:
    def start_response(status, headers, exc_info=None):
        return None

    for _ in range(count):
        fresh = dict(environ)
        fresh["wsgi.input"] = io.BytesIO(environ["bench.body"])  # each request reads its body
        answer = app(fresh, start_response)
        for _chunk in answer:
            pass
        if hasattr(answer, "close"):
            answer.close()


def instructions(argv: list[str], counts=(100, 600)) -> float:
    """Instructions per request: the difference of two callgrind runs over that of their counts.
    Instrumentation is switched on only once the app is made and warm (startup under callgrind
    takes minutes on a busy machine), so a run counts little more than its requests."""
    totals = []
    for count in counts:
        with tempfile.TemporaryDirectory() as folder:
            go = Path(folder) / "go"
            run_ = subprocess.Popen(
                ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                 f"--callgrind-out-file={folder}/cg.out", sys.executable, "-m",
                 "bench.per_request", *argv, "--count", str(count), "--wait-for", str(go)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert run_.stdout.readline().strip() == "ready"
            subprocess.run(["callgrind_control", "-i", "on", str(run_.pid)], check=True,
                           capture_output=True)
            go.touch()
            _, err = run_.communicate()
        totals.append(int(re.search(r"Collected : (\d+)", err).group(1)))
    return (totals[1] - totals[0]) / (counts[1] - counts[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--form", help="POST this urlencoded form (e.g. grant_type=x&client_id=y)")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--wait-for", help=argparse.SUPPRESS)  # used by --instructions
    args = parser.parse_args(argv)
    if args.instructions:
        passed = [args.path, *(f"--header={h}" for h in args.header)]
        passed += ["--redis"] if args.redis else []
        passed += [f"--form={args.form}"] if args.form is not None else []
        print(f"{args.path}: {instructions(passed):,.0f} instructions per request")
        return 0
    app = make_app(args.redis)
    environ = environ_for(args.path, args.header, args.form)
    run(app, environ, 50)  # warm: caches filled, first-use imports done
    if args.wait_for:
        print("ready", flush=True)
        while not os.path.exists(args.wait_for):  # busy: callgrind reads commands while running
            pass
    started = time.process_time()
    run(app, environ, args.count)
    spent = time.process_time() - started
    print(f"{args.path}: {spent / args.count * 1000:.4f} CPU ms per request ({args.count})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
