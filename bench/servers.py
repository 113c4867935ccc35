"""gunicorn against granian on the same app, turn and turn about: ``python -m bench.servers``.

Both serve one database and Redis prefix, production shape (as ``bench/run`` starts them), on
core 0; this process drives them from core 1. Per endpoint and round, the servers' CPU
milliseconds per request (all their processes), the order alternating each round so drifting
load on a shared machine hits both alike; then each one's worker memory after sign-ins and
activations (the phases of bench.memory). ``--json`` prints every number.
"""

import argparse
import asyncio
import json
import os
import sys

import pyotp

from bench import flows, load, probes
from bench.__main__ import GENERATOR_CORE, close, collect_codes, prepared, start_service
from bench.environment import Environment
from bench.memory import activate, invitations

SERVERS = ("gunicorn", "granian")


async def healthz(user: load.User):
    flows.expect(await user.conn.request("GET", "/healthz"), 200)


def sign_in_page(ours: flows.Ours):
    """The authorization request of a browser without a session: answered with the sign-in
    page itself."""
    async def op(user: load.User):
        user.cookies.clear()
        flows.expect(await user.conn.request(
            "GET", f"/authorize?{ours.authorization_query()}"), 200)
    return op


def cpu_ms(ours, op, users: int, seconds: float, requests_per_op: int = 1) -> dict:
    before = ours.cpu.seconds()
    sample = asyncio.run(load.closed_loop(ours.host, ours.port, op, users, seconds, 0.3))
    used = ours.cpu.seconds() - before
    return {"cpu_ms_per_request": round(used * 1000 / max(1, sample.completed * requests_per_op), 3),
            "per_second": sample.summary()["per_second"], "errors": sample.errors}


def one_round(ours, seconds: float) -> dict:
    result = {"healthz": cpu_ms(ours, healthz, 16, seconds),
              "discovery": cpu_ms(ours, ours.discovery, 16, seconds),
              "jwks": cpu_ms(ours, ours.jwks, 16, seconds),
              "sign_in_page_at_authorize": cpu_ms(ours, sign_in_page(ours), 8, seconds)}
    collect_codes(ours, int(max(300, 250 * seconds)), seconds * 10)
    result["code_exchange"] = cpu_ms(ours, ours.exchange, 16, seconds)
    return result


def memory(ours, service, tokens, secrets, workers, threads) -> dict:
    concurrency = workers * threads * 2

    def run(op, users, seconds):
        return asyncio.run(load.closed_loop(ours.host, ours.port, op, users, seconds, warmup=0))

    signed_in = run(ours.sign_in, concurrency, 4)
    after_sign_in = probes.worker_memory(service.pid)
    activated = run(activate(tokens, lambda t: pyotp.TOTP(secrets[t]).now()), concurrency, 60)
    for phase, sample in (("sign-in", signed_in), ("activation", activated)):
        if sample.errors or not sample.completed:  # then the memory figures mean little
            print(f"{phase}: {sample.completed} done, {sample.errors} errors {sample.first_error}",
                  file=sys.stderr)
    return {"sign_in": after_sign_in, "activation": probes.worker_memory(service.pid)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--activations", type=int, default=16, help="per server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {int(GENERATOR_CORE)})
    with Environment() as env:
        from idp import crypto
        from idp.flows import activation as flow

        app, _, client, _ = prepared(env, 1000)
        servers, tokens, secrets = {}, {}, {}
        with app.app_context():
            for name in SERVERS:
                tokens[name] = invitations(args.activations, name)
                for token in tokens[name]:
                    secrets[token] = flow.pending_secret(
                        flow.find(crypto.token_hash(token)).activation)
        last_step = {}
        for name in SERVERS:
            host, port, service = start_service(env, argparse.Namespace(
                workers=args.workers, threads=args.threads, server=name), name)
            ours = flows.Ours(host, port, client, 1000)
            ours.last_step = last_step  # one database: the TOTP replay guard is shared
            ours.cpu = probes.CpuMeter(service.pid)
            servers[name] = (ours, service)
        rounds = {name: [] for name in SERVERS}
        for number in range(args.rounds):
            order = SERVERS if number % 2 == 0 else SERVERS[::-1]
            for name in order:
                print(f"round {number + 1}: {name}", file=sys.stderr, flush=True)
                rounds[name].append(one_round(servers[name][0], args.seconds))
        memories = {name: memory(*servers[name], tokens[name], secrets, args.workers, args.threads)
                    for name in SERVERS}
        close(app)
    result = {"workers": args.workers, "threads": args.threads, "rounds": rounds, "memory": memories}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{args.workers} worker(s) x {args.threads} threads, CPU ms per request, "
          f"each round (order alternating)")
    for endpoint in rounds[SERVERS[0]][0]:
        cells = [" / ".join(str(r[endpoint]["cpu_ms_per_request"]) for r in rounds[name])
                 for name in SERVERS]
        print(f"  {endpoint:28s} " + "   ".join(f"{n} {c}" for n, c in zip(SERVERS, cells)))
    for name in SERVERS:
        for phase, m in memories[name].items():
            print(f"  {name:8s} after {phase:10s}: worker RSS {m['worker_rss_mib']}, "
                  f"peak {m['worker_peak_rss_mib']}, private {m['worker_private_mib']}; "
                  f"all (PSS) {m['total_pss_mib']} MiB")
    errors = {(n, e): r[e]["errors"] for n in SERVERS for r in rounds[n] for e in r if r[e]["errors"]}
    if errors:
        print(f"  errors: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
