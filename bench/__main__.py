"""``bench/run`` (or ``python -m bench``): the whole benchmark, one command.

1. the physical limits, on the service's core (bench.limits);
2. a fresh PostgreSQL database and Redis prefix, migrated and seeded (bench.seed);
3. the service as in production (the image's server, ``python -m idp.granian_server``, several
   workers; ``--server gunicorn`` runs the fallback, gunicorn -c gunicorn.conf.py, on the same
   app instead, to repeat bench.servers' comparison) on core 0
   and the peer (node-oidc-provider, bench/peer) on core 0 too; this process, the load generator,
   on core 1;
4. several rounds of every measured endpoint, on both; memory, Redis, query plans;
5. the scale check: the same sign-in and token runs with --scale-accounts parents;
6. bench/results/latest.json and latest.md. Everything it made is removed at the end.
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import flows, load, probes, report, rp, seed
from bench.environment import Environment, free_port
from idp.settings import PROJECT_ROOT

SERVICE_CORE, GENERATOR_CORE = "0", "1"
PEER_DIR = PROJECT_ROOT / "bench" / "peer"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds in all: one short round, no peer, no scale check "
                             "(the test suite's smoke run)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="per endpoint per round")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--scale-accounts", type=int, default=1_000_000,
                        help="parents for the scale check (0: skip it)")
    # Two threads per worker: each argon2id hash in flight holds 19 MiB that the allocator then
    # keeps, so threads bound a worker's memory (2: ~140 MiB peak, 4: ~180 MiB); more threads or
    # workers did not add throughput on one core (bench.profile --no-spy).
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", 2)))
    add_server_option(parser)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results")
    parser.add_argument("--name", default="latest", help="file name of the results (no suffix)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the service's logs")
    args = parser.parse_args(argv)
    args.warmup = 0 if args.quick else 0.3  # seconds of each phase not counted
    if args.quick:
        args.rounds, args.seconds, args.scale_accounts, args.no_peer = 1, 0.3, 0, True
        args.accounts = min(args.accounts, 50)
    return args


def pin(core: str) -> list[str]:
    return ["taskset", "-c", core] if shutil.which("taskset") and os.cpu_count() > 1 else []


def measure_limits(quick: bool) -> dict:
    out = subprocess.run([*pin(SERVICE_CORE), sys.executable, "-m", "bench.limits",
                          *(["--quick"] if quick else [])],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# --- starting the two servers ------------------------------------------------------------------
def start_service(env: Environment, args, name: str = "service") -> tuple[str, int, object]:
    port = free_port()
    prometheus = env.folder / f"prometheus-{name}"
    prometheus.mkdir()
    service_env = env.env(
        IDP_ISSUER=f"http://127.0.0.1:{port}", IDP_WORKER="off", IDP_LOG_LEVEL="INFO",
        # Codes live 60 s in production; the harness collects them before it exchanges them.
        IDP_CODE_TTL=3600,
        GUNICORN_HOST="127.0.0.1", GUNICORN_PORT=port, IDP_METRICS_PORT=free_port(),
        GUNICORN_WORKERS=args.workers, GUNICORN_THREADS=args.threads,
        GUNICORN_GRACEFUL_TIMEOUT=3,  # an interrupted run leaves keep-alive connections open
        PROMETHEUS_MULTIPROC_DIR=prometheus,  # as the Helm chart runs it
    )
    process = env.start(name, [*pin(SERVICE_CORE), *server_command(args, port)],
                        service_env, f"http://127.0.0.1:{port}/readyz")
    return "127.0.0.1", port, process


def add_server_option(parser) -> None:
    """``--server``: the HTTP server the service runs under (bench/run, bench.memory,
    bench.profile)."""
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian",
                        help="the HTTP server of the service (granian: the image's)")


def server_command(args, port: int) -> list[str]:
    """The image's server (idp.granian_server), or its fallback gunicorn on the same app with the
    same environment (``--server gunicorn``, gunicorn -c gunicorn.conf.py)."""
    if getattr(args, "server", "granian") == "granian":
        return [sys.executable, "-m", "idp.granian_server"]
    return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]


def start_peer(env: Environment) -> tuple[flows.Peer, object] | None:
    if not shutil.which("node"):
        log("node is not installed: no peer")
        return None
    if not (PEER_DIR / "node_modules" / "oidc-provider").exists():
        log("npm install in bench/peer")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=PEER_DIR, check=True)
    port = free_port()
    client = {"client_id": "bench-peer", "client_secret": os.urandom(16).hex(),
              "redirect_uri": seed.REDIRECT_URI}
    peer_env = {**os.environ, "PORT": str(port), "ISSUER": f"http://127.0.0.1:{port}",
                "REDIS_URL": env.settings["IDP_REDIS_URL"], "REDIS_PREFIX": env.prefix + "peer:",
                "CLIENT_ID": client["client_id"], "CLIENT_SECRET": client["client_secret"],
                "REDIRECT_URI": client["redirect_uri"], "NODE_ENV": "production"}
    process = env.start("peer", [*pin(SERVICE_CORE), "node", "server.mjs"], peer_env,
                        f"http://127.0.0.1:{port}/.well-known/openid-configuration", cwd=PEER_DIR)
    return flows.Peer("127.0.0.1", port, client), process


# --- one round ---------------------------------------------------------------------------------
def closed(server, op, users: int, args) -> dict:
    """A closed-loop phase, with the server's CPU time per request (when it has a meter)."""
    meter = getattr(server, "cpu", None)
    before = meter.seconds() if meter else None
    sample = asyncio.run(load.closed_loop(server.host, server.port, op, users, args.seconds,
                                          args.warmup))
    result = sample.summary()
    if meter and sample.completed:
        result["cpu_ms_per_request"] = round((meter.seconds() - before) * 1000 / sample.completed, 2)
    return result


def collect_codes(server, count: int, seconds: float) -> dict:
    """Fill the code pool by single sign-on; measured too (an authorization request with a
    session is what every relying party after the first one costs)."""
    async def run():
        browser = await server.signed_in_user()
        browser.conn.close()
        server.codes.clear()
        target = len(server.codes) + count

        async def op(user):
            if len(server.codes) >= target:
                raise load.OutOfWork()
            user.cookies = user.cookies or dict(browser.cookies)
            await server.collect_code(user)

        return await load.closed_loop(server.host, server.port, op, 8, seconds, warmup=0)

    return asyncio.run(run()).summary()


def our_round(ours: flows.Ours, args, codes: int) -> dict:
    s = args.seconds
    result = {}
    log("  discovery, jwks")
    result["discovery"] = closed(ours, ours.discovery, 16, args)
    result["jwks"] = closed(ours, ours.jwks, 16, args)
    log("  full sign-in")
    result["sign_in"] = closed(ours, ours.sign_in, 8, args)
    log(f"  collecting {codes} codes")
    result["authorize_sso"] = collect_codes(ours, codes, s * 10)
    log("  code exchange, refresh, userinfo, introspection")
    result["code_exchange"] = closed(ours, ours.exchange, 16, args)
    result["refresh"] = closed(ours, ours.refresh, 16, args)
    result["userinfo"] = closed(ours, ours.userinfo, 16, args)
    result["introspection"] = closed(ours, ours.introspect, 16, args)
    rate = max(1.0, 0.7 * result["refresh"]["per_second"])
    log(f"  token endpoint at 70% of its maximum ({rate:.0f}/s, open loop)")
    open_result = asyncio.run(load.open_loop(ours.host, ours.port, ours.refresh, rate, s,
                                             users=8 if args.quick else 64))
    result["token_at_70pct"] = {**open_result.summary(), "offered_per_second": round(rate, 1)}
    log("  relying party verifying an access token (in-process, joserfc)")
    result["rp_verify"] = rp.verify_rate(ours, quick=args.quick)
    return result


def peer_round(peer: flows.Peer, args, codes: int) -> dict:
    s = args.seconds
    result = {"discovery": closed(peer, peer.discovery, 16, args), "jwks": closed(peer, peer.jwks, 16, args)}
    result["authorize_sso"] = collect_codes(peer, codes, s * 10)
    result["code_exchange"] = closed(peer, peer.exchange, 16, args)
    result["refresh"] = closed(peer, peer.refresh, 16, args)
    return result


def scale_round(ours: flows.Ours, args, codes: int) -> dict:
    s = args.seconds
    result = {"sign_in": closed(ours, ours.sign_in, 8, args)}
    result["authorize_sso"] = collect_codes(ours, codes, s * 10)
    result["code_exchange"] = closed(ours, ours.exchange, 16, args)
    result["refresh"] = closed(ours, ours.refresh, 16, args)
    return result


def codes_needed(rounds: list[dict], args) -> int:
    """Enough codes for one exchange phase: the last exchange rate (or a guess), plus a fifth."""
    if args.quick:
        return 40
    last = rounds[-1]["code_exchange"]["per_second"] if rounds else 700
    return int(max(200, last) * (args.seconds + 0.5) * 1.2)


# --- the run -------------------------------------------------------------------------------------
def prepared(env: Environment, accounts: int) -> tuple[object, int, dict, float]:
    """Migrate and seed one environment's database; its app, organisation id, client, seconds."""
    env.run_idp("db", "upgrade")
    from idp import create_app

    app = create_app(env.settings)
    with app.app_context():
        org, client = seed.org_and_client()
        seconds = seed.seed_parents(env.database_url, org.id, 0, accounts)
        return app, org.id, client, seconds


def close(app) -> None:
    from idp.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def scale_check(ours_small, args, codes: int, results: dict) -> None:
    """A second, identical service with --scale-accounts parents, measured turn and turn about
    with the first (1,000 parents), so drifting load on a shared machine hits both alike."""
    with Environment(keep_folder=args.keep_logs) as env:
        log(f"scale: a second database {env.database} with {args.scale_accounts} parents")
        app, org_id, client, seconds = prepared(env, args.scale_accounts)
        results["seeding"]["scale"] = {"accounts": args.scale_accounts, "seconds": round(seconds, 1)}
        host, port, service = start_service(env, args)
        big = flows.Ours(host, port, client, args.scale_accounts)
        big.cpu = probes.CpuMeter(service.pid)
        small, large = [], []
        for number in range(1, args.rounds + 1):
            log(f"scale round {number}/{args.rounds}: {args.accounts} and {args.scale_accounts} parents")
            # Which goes first alternates, so neither always follows the other's heaviest phase.
            if number % 2:
                small.append(scale_round(ours_small, args, codes))
                large.append(scale_round(big, args, codes))
            else:
                large.append(scale_round(big, args, codes))
                small.append(scale_round(ours_small, args, codes))
        results["rounds"]["scale_base"], results["rounds"]["scale"] = small, large
        results["query_plans"][args.scale_accounts] = probes.query_plans(
            env.database_url, org_id, client["client_id"])
        close(app)


def run(args) -> dict:
    os.sched_setaffinity(0, {int(GENERATOR_CORE)}) if pin(GENERATOR_CORE) else None
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": probes.machine(),
               "load_before": probes.load_average(),
               "config": {k: v for k, v in vars(args).items() if k not in ("out",)}}
    log(f"load average {results['load_before']}; measuring the limits on core {SERVICE_CORE}")
    limits = [measure_limits(args.quick)]
    with Environment(keep_folder=args.keep_logs) as env:
        log(f"database {env.database}, Redis prefix {env.prefix}; migrating and seeding")
        app, org_id, client, seconds = prepared(env, args.accounts)
        results["seeding"] = {"accounts": args.accounts, "seconds": round(seconds, 1)}
        host, port, service = start_service(env, args)
        ours = flows.Ours(host, port, client, args.accounts)
        ours.cpu = probes.CpuMeter(service.pid)
        peer = None if args.no_peer else start_peer(env)
        if peer:
            peer[0].cpu = probes.CpuMeter(peer[1].pid)
        rounds, peer_rounds = [], []
        for number in range(1, args.rounds + 1):
            log(f"round {number}/{args.rounds}: Ouderportaal")
            rounds.append({**our_round(ours, args, codes_needed(rounds, args)),
                           "load_average": probes.load_average()})
            if peer:
                log(f"round {number}/{args.rounds}: node-oidc-provider")
                peer_rounds.append(peer_round(peer[0], args, codes_needed(peer_rounds, args)))
        results["rounds"] = {"ours": rounds, "peer": peer_rounds}
        results["memory"] = {**probes.worker_memory(service.pid),
                             "redis": probes.redis_per_session(env.redis, env.prefix)}
        results["query_plans"] = {args.accounts: probes.query_plans(
            env.database_url, org_id, client["client_id"])}
        if args.scale_accounts > args.accounts:
            scale_check(ours, args, codes_needed(rounds, args), results)
        results["service_log_tail"] = service.log.read_text()[-2000:] if args.quick else None
        close(app)
    log("measuring the limits again")
    limits.append(measure_limits(args.quick))
    results["limits"] = probes.combine_limits(limits)
    results["load_after"] = probes.load_average()
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        results = run(args)
    except KeyboardInterrupt:
        log("interrupted: everything this run made has been removed")
        return 130
    summary = report.summarize(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(summary, indent=1) + "\n")
    (args.out / f"{args.name}.md").write_text(report.markdown(summary))
    print(report.markdown(summary))
    log(f"written {args.out / (args.name + '.json')} and {args.name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
