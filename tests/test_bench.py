"""The benchmark harness (bench/) cannot rot: its quick run goes through every step once, on
PostgreSQL and Redis, and writes results of the documented shape. No timing is asserted here:
benchmarks are measured with ``bench/run``, never in tests."""

import json
import subprocess
import sys

import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import select

from bench.probes import PLANS
from idp.extensions import db
from idp.models import Organisation
from idp.settings import PROJECT_ROOT
from tests.conftest import PG_ADMIN_URL, REDIS_URL

ENDPOINTS = {"discovery", "jwks", "sign_in", "authorize_sso", "code_exchange", "refresh",
             "userinfo", "introspection", "rp_verify"}


def bench(module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` on the tests' PostgreSQL and Redis; it must succeed."""
    run = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=300, env={"IDP_BENCH_PG_ADMIN": PG_ADMIN_URL, "IDP_BENCH_REDIS": REDIS_URL,
                          "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def test_quick_run_writes_json_and_markdown_and_cleans_up(tmp_path):
    run = bench("bench", "--quick", "--out", str(tmp_path), "--name", "smoke")
    summary = json.loads((tmp_path / "smoke.json").read_text())
    assert set(summary["endpoints"]) == ENDPOINTS
    for name, entry in summary["endpoints"].items():
        assert entry["ours"]["per_second"] > 0, name
        assert "errors" not in entry["ours"], (name, entry["ours"].get("first_error"))
    assert {"argon2id_verify", "RS256_sign", "ES256_sign"} <= set(summary["limits"])
    assert summary["limits"]["argon2id_verify"]["parameters"] == {"m_kib": 19456, "t": 2, "p": 1}
    assert summary["endpoints"]["sign_in"]["limit"]["kind"] == "argon2id"
    assert summary["access_token_alg"] == "ES256"
    assert summary["memory"]["redis"]["sessions"] > 0
    assert summary["config"]["server"] == "granian"  # the image's
    plans = next(iter(summary["query_plans"].values()))["plans"]
    assert set(plans) == set(PLANS) and all(lines for lines in plans.values())
    markdown = (tmp_path / "smoke.md").read_text()
    assert "| Endpoint |" in markdown and "Full sign-in" in markdown and "| Target |" in markdown

    # Nothing left behind: its database is dropped and its Redis keys are gone.
    database = next(line.split()[2].rstrip(",") for line in run.stdout.splitlines()
                    if "database idp_bench_" in line)
    with psycopg.connect(PG_ADMIN_URL) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None
    prefix = database.replace("idp_bench_", "idpbench:") + ":"
    with redis_lib.Redis.from_url(REDIS_URL) as r:
        assert next(r.scan_iter(prefix + "*"), None) is None


def test_quick_run_under_gunicorn_serves_every_endpoint(tmp_path):
    """``bench/run --server gunicorn``: the image's fallback server can be measured against the
    image's (granian, the default) on the same app."""
    bench("bench", "--quick", "--server", "gunicorn", "--out", str(tmp_path), "--name", "smoke")
    summary = json.loads((tmp_path / "smoke.json").read_text())
    assert summary["config"]["server"] == "gunicorn"
    for name, entry in summary["endpoints"].items():
        assert entry["ours"]["per_second"] > 0, name
        assert "errors" not in entry["ours"], (name, entry["ours"].get("first_error"))
    assert "gunicorn 2 workers x 2 threads" in (tmp_path / "smoke.md").read_text()


@pytest.mark.parametrize("backend", ["postgres"])  # bench.seed writes with PostgreSQL COPY
def test_the_seeder_refuses_a_database_with_real_accounts(app, world, tmp_path):
    """bench.seed gives every parent one password hash and TOTP secret: never next to real ones."""
    from tests.processes import environment

    refused = subprocess.run([sys.executable, "-m", "bench.seed", "--count", "5"],
                             env=environment(app, tmp_path), cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "real (non-benchmark) account" in refused.stderr
    with app.app_context():
        assert db.session.scalar(select(Organisation).where(Organisation.code == "BENCH01")) is None


@pytest.mark.parametrize("flow, printed", [
    ("--sign-in", "CPU ms per sign-in (3; argon2id at its cheapest)"),
    ("--code-exchange", "CPU ms per request (3)"),
])
def test_the_in_process_meters_go_through_their_flow(flow, printed):
    """``bench.per_request`` signs parents in (and exchanges their codes as a relying party
    does, PKCE and client_secret_basic) on PostgreSQL and Redis; it stops at any answer the
    flow does not expect, so finishing means every request got its 200 or 302."""
    run = bench("bench.per_request", flow, "--count", "3", "--redis", "--postgres")
    assert printed in run.stdout
