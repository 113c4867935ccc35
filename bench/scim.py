"""``python -m bench.scim``: SCIM provisioning, measured. One command:

1. a fresh PostgreSQL database and Redis prefix (bench.environment), migrated;
2. an organisation of ``--parents`` parents (default 1,000,000; bench.seed's COPY), each given a
   dossier id (externalId), and a client-credentials client bound to it;
3. the service as in production (the image's server, idp.granian_server, ``--workers`` x ``--threads``),
   welcome e-mails to the outbox folder (no SMTP server: a file per e-mail);
4. ``--creates`` POST /Users (default 10,000) by ``--clients`` concurrent connections, into a
   new empty organisation and (``--creates-in-large``, default 1,000) into the large one;
5. searches on the large organisation (userName, externalId, emails.value, active, combined),
   each ``--repeat`` times, with the PostgreSQL query plans (EXPLAIN ANALYZE) of the page query
   and of its totalResults count;
6. bench/results/scim-<name>.json and .md. Everything it made is removed at the end.

    .venv/bin/python -m bench.scim                          # the full run (seeding ~minutes)
    .venv/bin/python -m bench.scim --parents 100000 --creates 2000 --name small
"""

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import psycopg
import requests
from sqlalchemy.dialects import postgresql

from bench import seed
from bench.__main__ import log, start_service
from bench.environment import Environment
from idp.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
SEARCH_ORG, EMPTY_ORG = seed.ORG_CODE, "BENCH02"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.scim",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--parents", type=int, default=1_000_000)
    parser.add_argument("--creates", type=int, default=10_000)
    parser.add_argument("--creates-in-large", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--repeat", type=int, default=50, help="runs of each search")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="latest")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1 if len(ordered) > 1 else 0] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


# --- setting up --------------------------------------------------------------------------------
def prepare(env: Environment, parents: int) -> dict:
    """Seed the large organisation and register the provisioning clients (in-process)."""
    from idp import create_app
    from idp.clients import register_program
    from idp.extensions import db
    from idp.models import Organisation

    app = create_app(env.settings)
    with app.app_context():
        large, _ = seed.org_and_client()
        started = time.perf_counter()
        seed.seed_parents(env.database_url, large.id, 0, parents)
        with psycopg.connect(seed.psycopg_url(env.database_url), autocommit=True) as conn:
            conn.execute("UPDATE account SET external_id = 'dossier-' || username "
                         "WHERE organisation_id = %s", (large.id,))
            conn.execute("VACUUM ANALYZE account")
        seeded = time.perf_counter() - started
        empty = Organisation(code=EMPTY_ORG, name="Benchmark (empty)", requires_2fa=True,
                             created_at=int(time.time()))
        db.session.add(empty)
        db.session.commit()
        clients = {}
        for org in (large, empty):
            client, secret = register_program(f"SCIM bench {org.code}", ["scim"], org)
            clients[org.code] = (client.client_id, secret)
        return {"seconds": round(seeded, 1), "clients": clients, "large_org_id": large.id}


def token(base: str, client_id: str, secret: str) -> str:
    response = requests.post(f"{base}/token", data={"grant_type": "client_credentials",
                                                    "scope": "scim"}, auth=(client_id, secret))
    response.raise_for_status()
    return response.json()["access_token"]


# --- measuring ---------------------------------------------------------------------------------
def creates(base: str, credentials: tuple[str, str], count: int, clients: int, prefix: str) -> dict:
    local = threading.local()
    token_box = {"token": token(base, *credentials), "at": time.monotonic()}
    lock = threading.Lock()

    def bearer() -> str:
        with lock:  # tokens live 300 s: a long run asks again
            if time.monotonic() - token_box["at"] > 240:
                token_box.update(token=token(base, *credentials), at=time.monotonic())
            return token_box["token"]

    def one(index: int):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"{prefix}{index:07d}", "externalId": f"{prefix}-{index}",
                "name": {"formatted": f"Ouder {prefix} {index}"},
                "emails": [{"value": f"{prefix}{index:07d}@bench.example.org", "primary": True}]}
        started = time.perf_counter()
        response = session.post(f"{base}/scim/v2/Users", json=body,
                                headers={"Authorization": f"Bearer {bearer()}",
                                         "Content-Type": "application/scim+json"})
        return time.perf_counter() - started, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    statuses = {}
    for _, status in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"count": count, "clients": clients, "seconds": round(elapsed, 1),
            "per_second": round(count / elapsed, 1), "statuses": statuses,
            "latency": summary([seconds for seconds, _ in results])}


def searches(parents: int) -> dict[str, str]:
    middle = seed.username(parents // 2)
    return {
        "userName eq": f'userName eq "{middle}"',
        "externalId eq": f'externalId eq "dossier-{middle}"',
        "emails.value eq": f'emails.value eq "{middle}{seed.EMAIL_DOMAIN}"',
        "active eq false and userName eq": f'active eq false and userName eq "{middle}"',
        "active eq true (first page of 200, count of all)": "active eq true",
    }


def run_searches(base: str, credentials, parents: int, repeat: int) -> dict:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token(base, *credentials)}"}
    measured = {}
    for name, expression in searches(parents).items():
        url = f"{base}/scim/v2/Users?filter={quote(expression)}"
        times, body = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            response = session.get(url, headers=headers)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
            body = response.json()
        measured[name] = {"filter": expression, "totalResults": body["totalResults"],
                          "itemsPerPage": body["itemsPerPage"], **summary(times)}
    return measured


def query_plans(env: Environment, org_id: int, parents: int) -> dict:
    """EXPLAIN ANALYZE of exactly the statements idp.scim.users.search makes."""
    from idp import create_app
    from idp.scim import filter as scim_filter
    from idp.scim.auth import Caller
    from idp.scim.users import statements

    app = create_app(env.settings)
    plans = {}
    dialect = postgresql.psycopg.dialect()
    caller = Caller("bench", org_id)  # the large organisation's client: a first page
    with app.app_context(), psycopg.connect(seed.psycopg_url(env.database_url)) as conn:
        for name, expression in searches(parents).items():
            page, count = statements(caller, scim_filter.condition(expression), 1,
                                     app.config["IDP_SCIM_MAX_RESULTS"])
            plans[name] = {}
            for kind, statement in (("page", page), ("totalResults", count)):
                compiled = statement.compile(dialect=dialect)
                rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled),
                                    compiled.params).fetchall()
                plans[name][kind] = [row[0] for row in rows]
    return plans


def markdown(result: dict) -> str:
    lines = [f"# SCIM benchmark ({result['name']})", "",
             f"{result['parents']:,} parents in {SEARCH_ORG} (seeded in {result['seed_seconds']} s); "
             f"granian {result['workers']} workers x {result['threads']} threads; "
             f"{result['machine']}.", "", "## Creates (POST /Users)", "",
             "| Organisation | Creates | Connections | Per second | Median | p95 | Max | Statuses |",
             "|---|---|---|---|---|---|---|---|"]
    for org, run in result["creates"].items():
        lat = run["latency"]
        lines.append(f"| {org} | {run['count']:,} | {run['clients']} | {run['per_second']} | "
                     f"{lat['median_ms']} ms | {lat['p95_ms']} ms | {lat['max_ms']} ms | "
                     f"{run['statuses']} |")
    lines += ["", f"## Searches on {result['parents']:,} parents (GET /Users?filter=...)", "",
              "| Search | totalResults | Median | p95 |", "|---|---|---|---|"]
    for name, run in result["searches"].items():
        lines.append(f"| `{run['filter']}` | {run['totalResults']:,} | {run['median_ms']} ms | "
                     f"{run['p95_ms']} ms |")
    lines += ["", "## Query plans", ""]
    for name, plan in result["query_plans"].items():
        for kind, rows in plan.items():
            lines += [f"**{name}**, {kind}:", "", "```", *rows, "```", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    import platform
    import os

    result = {"name": args.name, "parents": args.parents, "workers": args.workers,
              "threads": args.threads,
              "machine": f"{os.cpu_count()} cores, {platform.python_version()}"}
    with Environment() as env:
        log("migrating")
        env.run_idp("db", "upgrade")
        log(f"seeding {args.parents:,} parents")
        prepared = prepare(env, args.parents)
        result["seed_seconds"] = prepared["seconds"]
        host, port, _ = start_service(env, args)
        base = f"http://{host}:{port}"
        result["creates"] = {}
        log(f"{args.creates:,} creates into an empty organisation")
        result["creates"][EMPTY_ORG] = creates(base, prepared["clients"][EMPTY_ORG], args.creates,
                                               args.clients, "nieuw")
        if args.creates_in_large:
            log(f"{args.creates_in_large:,} creates into the large organisation")
            result["creates"][SEARCH_ORG] = creates(base, prepared["clients"][SEARCH_ORG],
                                                    args.creates_in_large, args.clients, "extra")
        log("searches")
        result["searches"] = run_searches(base, prepared["clients"][SEARCH_ORG], args.parents,
                                          args.repeat)
        result["query_plans"] = query_plans(env, prepared["large_org_id"], args.parents)
    (args.out / f"scim-{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"scim-{args.name}.md").write_text(markdown(result))
    log(f"written {args.out}/scim-{args.name}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
