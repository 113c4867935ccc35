"""Profile one endpoint under load: ``python -m bench.profile refresh [--seconds 10]``.

Starts the service as ``bench/run`` does (same settings, core 0), drives the endpoint from core 1,
and samples every worker of the server with py-spy. Writes bench/results/profile-<endpoint>.txt (the
functions with the most samples, self and inclusive) and the collapsed stacks next to it
(``.folded``, for flamegraph tools). Needs py-spy (``pip install py-spy``) and root or ptrace.
"""

import argparse
import asyncio
import collections
import os
import subprocess
import sys
from pathlib import Path

from bench import flows, load, seed
from bench.__main__ import GENERATOR_CORE, add_server_option, collect_codes, start_service
from bench.environment import VENV_BIN, Environment
from idp.settings import PROJECT_ROOT

ENDPOINTS = ("discovery", "jwks", "sign_in", "authorize_sso", "code_exchange", "refresh",
             "userinfo", "introspection")


def package_of(frame: str) -> str:
    """``flask`` for "Flask.wsgi_app (flask/app.py:1511)"; stdlib modules by their file name."""
    location = frame.rpartition("(")[2]
    path = location.split(":")[0]
    if "/" not in path:
        return "python: " + path.removesuffix(".py")
    return path.split("/")[0]


def _samples(folded: Path):
    """(stack, count) of each line of py-spy's folded output. A frame name can hold a line
    break (an exception's message), which splits its line: those pieces are left out."""
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            yield stack, count


def by_package(folded: Path) -> str:
    """Where the samples end (self time), grouped by library: what a request's time is spent in."""
    counts, total = collections.Counter(), 0
    for stack, count in _samples(folded):
        frames = [f for f in stack.split(";") if f]
        total += int(count)
        counts[package_of(frames[-1]) if frames else "?"] += int(count)
    return "\n".join(f"{100 * n / total:5.1f}  {name}" for name, n in counts.most_common(15))


def by_view(folded: Path) -> str:
    """Samples by the view (idp/web) that was running: which request of a flow costs what."""
    counts, total = collections.Counter(), 0
    for stack, count in _samples(folded):
        total += int(count)
        # idp/web/documents.py is the WSGI layer in front of Flask, not a view (it answers its
        # own three documents at its top, so those count as "outside a view" here).
        views = [f.split(" (")[0] for f in stack.split(";")
                 if "(idp/web/" in f and "(idp/web/documents.py" not in f]
        counts[views[0] if views else "(outside a view: server, framework, logging)"] += int(count)
    return "\n".join(f"{100 * n / total:5.1f}  {name}" for name, n in counts.most_common(10))


def top(folded: Path, limit: int = 40) -> str:
    """Self and inclusive sample counts per function, from py-spy's collapsed stacks."""
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for stack, count in _samples(folded):
        frames = [f for f in stack.split(";") if f]
        n = int(count)
        total += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    out = [f"{total} samples", "", "self %  function"]
    out += [f"{100 * n / total:5.1f}  {f}" for f, n in own.most_common(limit)]
    out += ["", "incl %  function"]
    out += [f"{100 * n / total:5.1f}  {f}" for f, n in inclusive.most_common(limit)]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("endpoint", choices=ENDPOINTS)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--users", type=int, default=16)
    add_server_option(parser)
    parser.add_argument("--no-spy", action="store_true", help="only measure (to compare settings)")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {int(GENERATOR_CORE)})
    out = PROJECT_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    folded = out / f"profile-{args.endpoint}.folded"
    with Environment() as env:
        env.run_idp("db", "upgrade")
        from idp import create_app

        app = create_app(env.settings)
        with app.app_context():
            org, client = seed.org_and_client()
            seed.seed_parents(env.database_url, org.id, 0, 1000)
        host, port, service = start_service(env, argparse.Namespace(
            workers=args.workers, threads=args.threads, server=args.server))
        ours = flows.Ours(host, port, client, 1000)
        asyncio.run(load.closed_loop(host, port, ours.sign_in, 2, 1))  # warm up, some tokens
        if args.endpoint in ("code_exchange", "refresh", "userinfo", "introspection"):
            collect_codes(ours, int(args.seconds * 400) + 200, 60)
        if args.endpoint in ("refresh", "userinfo", "introspection"):
            asyncio.run(load.closed_loop(host, port, ours.exchange, 16, 1))
        spy = None if args.no_spy else subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "--pid", str(service.pid), "--subprocesses",
                                "--duration", str(int(args.seconds)), "--rate", "200",
                                "--format", "raw", "--output", str(folded), "--nonblocking", *os.environ.get("BENCH_PY_SPY", "--gil").split()],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        op = {"sign_in": ours.sign_in, "code_exchange": ours.exchange,
              "authorize_sso": None, "introspection": ours.introspect}.get(args.endpoint) \
            or getattr(ours, args.endpoint)
        if args.endpoint == "authorize_sso":
            sample = collect_codes(ours, 10**6, args.seconds)
        else:
            sample = asyncio.run(load.closed_loop(host, port, op, args.users, args.seconds)).summary()
        if spy:
            spy.wait()
        with app.app_context():
            from idp.extensions import db

            db.session.remove()
            db.engine.dispose()
    if args.no_spy:
        print(f"{args.endpoint}: {sample}")
        return 0
    text = (f"{args.endpoint}: {sample}\n\nself % by library\n{by_package(folded)}\n\n"
            f"% by view\n{by_view(folded)}\n\n"
            + top(folded))
    (out / f"profile-{args.endpoint}.txt").write_text(text)
    print(text[:6000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
