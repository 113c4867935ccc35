"""What one request costs inside the WSGI app, without a server: CPU time, or instructions.

    python -m bench.per_request PATH [--count N] [--header 'Name: value'] [--redis]
                                     [--form 'name=value&...']   (a POST of that form)
    python -m bench.per_request --sign-in [--count N] [--redis] [--database URL | --postgres]
                                         [--calls]
    python -m bench.per_request --code-exchange [--count N] [--redis] [--postgres] [--calls]
                                               [--top N [--sort cumulative]]

``--sign-in`` measures the browser's two requests of a sign-in for a relying party: ``GET
/authorize`` (answered with the sign-in page) and the page's POST with organisation, username,
password and TOTP code (302 to the relying party with a code). Each sign-in is a new browser
and another parent (so every code is fresh); the page's cookie, CSRF token and form action are
taken from the page as a browser would. The password hash is argon2id at its cheapest here
(t=1, 8 KiB), so what is left is the rest of the sign-in: the production hash adds ~27 ms.
``--calls`` counts the Python function calls of each request instead (cProfile): steady
whatever else the machine does.

``--code-exchange`` measures a relying party's ``POST /token`` for a code (client_secret_basic,
PKCE), with the codes of as many sign-ins made before (not measured); ``--top N`` prints the N
functions with the most time of their own in those requests (cProfile).

The app is made as in production (an https issuer, JSON request logs at INFO to /dev/null, a
strict Host check), on a throw-away SQLite database (``--postgres``: a throw-away PostgreSQL
database on the benchmark's server, as in production; ``--database``: an empty one of yours)
and the in-process store (``--redis``: the machine's Redis, as the
key-set version check in production). Each request is a fresh WSGI environ handed to the app; the body is read and closed as a server would. It prints the CPU
milliseconds per request of ``--count`` requests after a warm-up.

Instructions per request are steadier on a busy machine than CPU time: run it twice under
callgrind with two counts and divide the difference (``--instructions`` does that):

    python -m bench.per_request /jwks --instructions   # with valgrind; a few minutes
"""

import argparse
import atexit
import cProfile
import io
import logging
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ISSUER = "https://idp.example"


def make_app(redis: bool, database: str | None = None, **settings):
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
        **settings,
    }
    if database:
        overrides["IDP_DATABASE_URL"] = database
    if redis:
        overrides["IDP_REDIS_URL"] = os.environ.get("IDP_BENCH_REDIS", "redis://127.0.0.1:6379/0")
        overrides["IDP_REDIS_PREFIX"] = f"per-request-{os.getpid()}:"
        atexit.register(_forget_keys, overrides["IDP_REDIS_URL"], overrides["IDP_REDIS_PREFIX"])
    app = create_app(overrides)
    with app.app_context():
        upgrade()
        keys.ensure_keys("bench")
    # The JSON lines are made (that is the cost) but go nowhere.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))
    return app


def throw_away_database() -> str:
    """A new PostgreSQL database on the benchmark's server (bench.environment), dropped when this
    process ends: every run of ``--instructions`` needs an empty one (its seed would collide)."""
    import uuid

    from bench import environment

    name = f"idp_per_request_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    environment.create_database(name)
    atexit.register(environment.drop_database, name)
    return environment.database_url(name)


def _forget_keys(url: str, prefix: str) -> None:
    """What the meter left in the shared Redis (sessions, flows, their schedules)."""
    import redis as redis_lib

    from bench.environment import forget_keys

    with redis_lib.Redis.from_url(url) as client:
        forget_keys(client, prefix)


def environ_for(path: str, headers: list[str], form: str | None = None):
    """A request's WSGI environ, its body ready to read; ``bench.body`` keeps the body for
    ``run``'s repetitions."""
    from werkzeug.test import EnvironBuilder

    body = {} if form is None else {
        "method": "POST", "data": form.encode(),
        "content_type": "application/x-www-form-urlencoded"}
    builder = EnvironBuilder(path=path, base_url=ISSUER,
                             headers=[tuple(h.split(": ", 1)) for h in headers], **body)
    environ = builder.get_environ()
    environ["SERVER_PORT"] = "8000"
    environ["bench.body"] = environ["wsgi.input"].read()
    environ["wsgi.input"] = io.BytesIO(environ["bench.body"])
    return environ


def run(app, environ, count: int) -> None:
    for _ in range(count):
        fresh = dict(environ)
        fresh["wsgi.input"] = io.BytesIO(environ["bench.body"])  # each request reads its body
        answer(app, fresh)


def wait_for(path: str) -> None:
    """Say ready, then wait for ``path`` (--instructions switches callgrind on meanwhile)."""
    print("ready", flush=True)
    while not os.path.exists(path):  # busy: callgrind reads commands while running
        pass


def answer(app, environ, calls=None) -> tuple[str, dict, bytes]:
    """Status, headers and body of one request, read as a server would; ``calls``: a
    cProfile.Profile that counts the request's function calls."""
    got = {}

    def start_response(status, headers, exc_info=None):
        got.update(status=status, headers=headers)

    if calls:
        calls.enable()
    answer_ = app(environ, start_response)
    body = b"".join(answer_)
    if hasattr(answer_, "close"):
        answer_.close()
    if calls:
        calls.disable()
    return got["status"], dict(got["headers"]), body


#: argon2id at its cheapest: the sign-in's own cost without the hash (see the docstring).
CHEAPEST_HASH = {"IDP_ARGON2_TIME_COST": 1, "IDP_ARGON2_MEMORY_KIB": 8,
                 "IDP_ARGON2_PARALLELISM": 1}


#: The PKCE verifier of every sign-in's authorization request (RFC 7636).
VERIFIER = "per-request-meter-verifier-of-43-characters"


def sign_in_parents(app, count: int) -> tuple[str, list[str], str, dict]:
    """A relying party's authorization query, ``count`` activated parents with the same
    password and TOTP secret in an organisation that asks a code, that organisation and the
    relying party (client_id, client_secret, redirect_uri)."""
    from urllib.parse import urlencode

    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    from bench import seed
    from idp import clock
    from idp.auth import passwords, totp
    from idp.extensions import db, secret_box
    from idp.models import Account

    with app.app_context():
        org, client = seed.org_and_client()
        password_hash = passwords.hash_password(seed.PASSWORD)
        secret = secret_box().encrypt(seed.TOTP_SECRET.encode(), totp.PURPOSE)
        now = clock.timestamp()
        names = [seed.username(index) for index in range(count)]
        db.session.add_all(Account(
            subject=f"bench-{name}", organisation_id=org.id, username=name,
            email=name + seed.EMAIL_DOMAIN, status="active", password_hash=password_hash,
            totp_secret_encrypted=secret, created_at=now, activated_at=now) for name in names)
        db.session.commit()
        code = org.code
    query = urlencode({
        "response_type": "code", "client_id": client["client_id"],
        "redirect_uri": client["redirect_uri"], "scope": "openid profile email",
        "state": "bench-state", "nonce": "bench-nonce",
        "code_challenge": create_s256_code_challenge(VERIFIER),
        "code_challenge_method": "S256"})
    return query, names, code, client


def sign_in(app, query: str, org_code: str, username: str, calls=(None, None)
            ) -> tuple[float, float, str]:
    """One parent's sign-in in a new browser; the CPU seconds of the page and of its POST
    (``calls``: a profile each that counts their function calls), and the code it gave."""
    from html import unescape
    from urllib.parse import parse_qs, urlencode, urlsplit

    from bench import seed
    from bench.flows import CSRF, FORM_ACTION  # read off the page as bench/run's browsers do
    from idp import clock

    page_environ = environ_for(f"/authorize?{query}", [])
    started = time.process_time()
    status, headers, body = answer(app, page_environ, calls[0])
    page = time.process_time() - started
    assert status.startswith("200"), (status, body[:300])
    html = body.decode()
    form = urlencode({"csrf_token": CSRF.search(html).group(1), "organisation": org_code,
                      "username": username, "password": seed.PASSWORD,
                      "code": seed.totp_code(clock.now())})
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    post_environ = environ_for(unescape(FORM_ACTION.search(html).group(1)),
                               [f"Cookie: {cookie}"], form)
    started = time.process_time()
    status, headers, body = answer(app, post_environ, calls[1])
    post = time.process_time() - started
    assert status.startswith("302") and "code=" in headers["Location"], (status, body[:300])
    return page, post, parse_qs(urlsplit(headers["Location"]).query)["code"][0]


def sign_ins(app, count: int, warm: int, wait_for_path: str | None, count_calls: bool) -> None:
    query, names, org_code, _ = sign_in_parents(app, warm + count)
    for name in names[:warm]:
        sign_in(app, query, org_code, name)
    if wait_for_path:
        wait_for(wait_for_path)
    page = post = 0.0
    calls = (cProfile.Profile(), cProfile.Profile()) if count_calls else (None, None)
    for name in names[warm:]:
        spent = sign_in(app, query, org_code, name, calls)[:2]
        page, post = page + spent[0], post + spent[1]
    if count_calls:
        page_calls, post_calls = (pstats.Stats(c).total_calls / count for c in calls)
        print(f"sign-in: page {page_calls:,.0f} + POST {post_calls:,.0f} = "
              f"{page_calls + post_calls:,.0f} function calls per sign-in ({count})")
        return
    print(f"sign-in: page {page / count * 1000:.3f} + POST {post / count * 1000:.3f} = "
          f"{(page + post) / count * 1000:.3f} CPU ms per sign-in ({count}; argon2id at its "
          "cheapest)")


def code_exchanges(app, count: int, warm: int, wait_for_path: str | None,
                   count_calls: bool, top: int, sort: str = "tottime") -> None:
    """A relying party's code exchange (POST /token, client_secret_basic, PKCE), for codes of
    ``count`` sign-ins made first (not measured)."""
    import base64
    from urllib.parse import urlencode

    query, names, org_code, client = sign_in_parents(app, warm + count)
    codes = [sign_in(app, query, org_code, name)[2] for name in names]
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()

    def exchange(code, calls=None) -> float:
        form = urlencode({"grant_type": "authorization_code", "code": code,
                          "redirect_uri": client["redirect_uri"], "code_verifier": VERIFIER})
        environ = environ_for("/token", [f"Authorization: Basic {basic}"], form)
        started = time.process_time()
        status, _, body = answer(app, environ, calls)
        spent = time.process_time() - started
        assert status.startswith("200") and b"id_token" in body, (status, body[:300])
        return spent

    for code in codes[:warm]:
        exchange(code)
    if wait_for_path:
        wait_for(wait_for_path)
    # CPU time, not wall time: the waits for PostgreSQL and Redis are not this process's cost.
    calls = cProfile.Profile(time.process_time) if count_calls or top else None
    spent = sum(exchange(code, calls) for code in codes[warm:])
    if top:
        pstats.Stats(calls).sort_stats(sort).print_stats(top)
    if count_calls:
        print(f"code exchange: {pstats.Stats(calls).total_calls / count:,.0f} function calls "
              f"per request ({count})")
        return
    print(f"code exchange: {spent / count * 1000:.3f} CPU ms per request ({count})")


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
    parser.add_argument("path", nargs="?")
    parser.add_argument("--count", type=int)
    parser.add_argument("--sign-in", action="store_true",
                        help="GET /authorize and the sign-in page's POST, for new parents")
    parser.add_argument("--code-exchange", action="store_true",
                        help="POST /token with the codes of sign-ins made first (not measured)")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--database", help="an empty PostgreSQL database (SQLAlchemy URL)")
    parser.add_argument("--postgres", action="store_true",
                        help="a throw-away PostgreSQL database of its own (each --instructions "
                             "run gets a new one)")
    parser.add_argument("--form", help="POST this urlencoded form (e.g. grant_type=x&client_id=y)")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--calls", action="store_true",
                        help="with --sign-in or --code-exchange: Python function calls per "
                             "request (cProfile)")
    parser.add_argument("--top", type=int, default=0,
                        help="with --code-exchange: the N functions with most own time (cProfile)")
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative", "ncalls"),
                        help="with --top: own time, time including callees, or calls")
    parser.add_argument("--wait-for", help=argparse.SUPPRESS)  # used by --instructions
    args = parser.parse_args(argv)
    flow = "--sign-in" if args.sign_in else "--code-exchange" if args.code_exchange else None
    if not flow and not args.path:
        parser.error("a PATH, --sign-in or --code-exchange")
    if args.instructions:
        passed = [flow] if flow else [args.path]
        passed += [f"--header={h}" for h in args.header]
        passed += ["--redis"] if args.redis else []
        if args.database and flow:
            parser.error(f"--instructions {flow} seeds each run: use --postgres, not --database")
        passed += [f"--database={args.database}"] if args.database else []
        passed += ["--postgres"] if args.postgres else []
        passed += [f"--form={args.form}"] if args.form is not None else []
        what = flow.removeprefix("--") if flow else args.path
        counts = (20, 120) if flow else (100, 600)
        print(f"{what}: {instructions(passed, counts):,.0f} instructions per "
              f"{'sign-in' if args.sign_in else 'request'}")
        return 0
    if args.postgres:
        args.database = throw_away_database()
    if args.sign_in:
        sign_ins(make_app(args.redis, args.database, **CHEAPEST_HASH), args.count or 300, 20,
                 args.wait_for, args.calls)
        return 0
    if args.code_exchange:
        code_exchanges(make_app(args.redis, args.database, **CHEAPEST_HASH), args.count or 300,
                       20, args.wait_for, args.calls, args.top, args.sort)
        return 0
    args.count = args.count or 3000
    app = make_app(args.redis, args.database)
    environ = environ_for(args.path, args.header, args.form)
    run(app, environ, 50)  # warm: caches filled, first-use imports done
    if args.wait_for:
        wait_for(args.wait_for)
    started = time.process_time()
    run(app, environ, args.count)
    spent = time.process_time() - started
    print(f"{args.path}: {spent / args.count * 1000:.4f} CPU ms per request ({args.count})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
