"""Memory of the service's workers after a mixed load: ``python -m bench.memory [--threads 4]``.

Starts the service as ``bench/run`` does (same settings, core 0) and reads every worker's VmRSS
(resident now), VmHWM (peak) and, from smaps_rollup, how much of it is private to the worker
(what one more worker really adds; the rest is shared with the master and the other workers),
after each of three phases:

1. ``started``: after one request to each endpoint family (what a worker holds idle);
2. ``mixed``: sign-ins with every thread of every worker hashing at once, then code exchange,
   refresh, userinfo, introspection, discovery and JWKS;
3. ``activation``: parents activating at once (the password-strength estimator is used only
   there), each also turned down once for a guessable password.

glibc's settings in the environment (``MALLOC_ARENA_MAX=2``, ...) reach the service.
``--json`` prints every number.
"""

import argparse
import asyncio
import json
import os
import sys
from urllib.parse import urlencode

import pyotp

from bench import flows, load, probes, seed
from bench.__main__ import (GENERATOR_CORE, add_server_option, close, collect_codes, prepared,
                            start_service)
from bench.environment import Environment


def invitations(count: int, name: str = "nieuw") -> list[str]:
    """Activation links for ``count`` new parents (in an app context); no e-mail is sent. A
    second call needs another ``name`` (the usernames and addresses are new accounts')."""
    from idp.accounts.actions import Actor, invite
    from idp.extensions import db
    from idp.flows import activation as flow
    from idp.models import Organisation

    tokens = []
    org = db.session.query(Organisation).filter_by(code=seed.ORG_CODE).one()
    sent = flow.send_welcome
    flow.send_welcome = lambda account, token: tokens.append(token)
    try:
        for n in range(count):
            invite(org, f"{name}{n}@bench.invalid", f"{name}{os.getpid()}_{n}", None,
                   Actor("bench"))
    finally:
        flow.send_welcome = sent
    return tokens


def activate(tokens: list[str], code_of):
    """An operation: open a link, be refused a guessable password, then activate."""
    async def op(user: load.User):
        if not tokens:
            raise load.OutOfWork()
        token = tokens.pop()
        conn = user.conn
        user.cookies.clear()
        response = flows.expect(await conn.request("GET", f"/activeren/{token}"), 302)
        user.cookies.update(response.cookies)
        for password, status in (("wachtwoord2024", 400), (seed.PASSWORD + " " + token[:6], 302)):
            page = await conn.request("GET", "/activeren", user.cookie_header())
            user.cookies.update(page.cookies)
            form = {"csrf_token": flows.CSRF.search(page.body.decode()).group(1),
                    "password": password, "password_again": password,
                    "code": code_of(token)}
            response = flows.expect(await conn.request(
                "POST", "/activeren", {**user.cookie_header(), **flows.FORM},
                urlencode(form).encode()), status)
            user.cookies.update(response.cookies)
    return op


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4, help="per phase of the mixed load")
    parser.add_argument("--activations", type=int, default=16)
    add_server_option(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {int(GENERATOR_CORE)})
    concurrency = args.workers * args.threads * 2  # every thread busy, a queue behind each
    result = {"workers": args.workers, "threads": args.threads,
              "env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}}
    with Environment() as env:
        from idp import crypto
        from idp.flows import activation as flow

        app, _, client, _ = prepared(env, 1000)
        with app.app_context():
            tokens = invitations(args.activations)
            secrets = {}
            for token in tokens:
                secrets[token] = flow.pending_secret(flow.find(crypto.token_hash(token)).activation)
        host, port, service = start_service(env, argparse.Namespace(
            workers=args.workers, threads=args.threads, server=args.server))
        ours = flows.Ours(host, port, client, 1000)

        def run(op, users, seconds):
            return asyncio.run(load.closed_loop(host, port, op, users, seconds, warmup=0)).summary()

        run(ours.sign_in, args.workers, 1)
        collect_codes(ours, 40, 10)
        run(ours.exchange, 4, 1)
        for op in (ours.discovery, ours.userinfo, ours.introspect):
            run(op, 4, 0.5)
        result["started"] = probes.worker_memory(service.pid)

        s = args.seconds
        phases = {"sign_in": run(ours.sign_in, concurrency, s)}
        phases["authorize_sso"] = collect_codes(ours, int(s * 300), s)
        phases["code_exchange"] = run(ours.exchange, 16, s)
        phases["refresh"] = run(ours.refresh, 16, s)
        phases["userinfo"] = run(ours.userinfo, 16, s / 2)
        phases["introspection"] = run(ours.introspect, 16, s / 2)
        phases["discovery"] = run(ours.discovery, 16, s / 2)
        phases["jwks"] = run(ours.jwks, 16, s / 2)
        result["mixed"] = probes.worker_memory(service.pid)

        phases["activation"] = run(activate(list(tokens), lambda t: pyotp.TOTP(secrets[t]).now()),
                                   concurrency, 60)
        result["activation"] = probes.worker_memory(service.pid)
        result["load"] = {k: {f: v[f] for f in ("requests", "errors", "per_second", "first_error")
                              if f in v} for k, v in phases.items()}
        close(app)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{args.workers} workers x {args.threads} threads {result['env'] or ''}")
    for phase in ("started", "mixed", "activation"):
        m = result[phase]
        print(f"  {phase:10s} workers: RSS {m['worker_rss_mib']}, peak {m['worker_peak_rss_mib']}, "
              f"private {m['worker_private_mib']}; master RSS {m['master_rss_mib']}; "
              f"all together (PSS) {m['total_pss_mib']} MiB")
    bad = {k: v for k, v in result["load"].items() if v.get("errors") or not v.get("requests")}
    if bad:
        print(f"  load problems: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
