"""Benchmark-only seeding: an organisation, a confidential client and N activated parents with
TOTP, fast enough for a million accounts (PostgreSQL ``COPY``).

Every parent gets the SAME password hash (one argon2id hash with the production parameters,
computed once) and the SAME TOTP secret (encrypted once): signing in still costs one full
verification, but seeding costs none. That is only acceptable for throw-away benchmark data, so
the seeder refuses a database that holds any account it did not make, unless ``--force``.

    python -m bench.seed --count 1000        # with the service's IDP_* settings
"""

import argparse
import sys
import time

import psycopg
import pyotp
from sqlalchemy import select

from bench.limits import production_hasher
from idp import clock, crypto
from idp.auth import totp
from idp.clients import register
from idp.extensions import db, secret_box
from idp.models import Client, Organisation

ORG_CODE = "BENCH01"
CLIENT_NAME = "Benchmark relying party"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never followed: the harness reads the code
PASSWORD = "fietsen langs de maas 2026"
EMAIL_DOMAIN = "@bench.invalid"
#: One TOTP secret for every benchmark parent (base32, 160 bits, fixed: benchmark data only).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
COLUMNS = ("subject", "organisation_id", "username", "email", "name", "status", "password_hash",
           "totp_secret_encrypted", "created_at", "activated_at")


class NotBenchmarkData(Exception):
    """The database holds accounts the seeder did not make."""


def username(index: int) -> str:
    return f"ouder{index:07d}"


def totp_code(at: float) -> str:
    return pyotp.TOTP(TOTP_SECRET).at(at)


def psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def check_only_benchmark_data(conn) -> None:
    foreign = conn.execute(
        "SELECT count(*) FROM account WHERE email NOT LIKE %s", ("%" + EMAIL_DOMAIN,)
    ).fetchone()[0]
    if foreign:
        raise NotBenchmarkData(
            f"this database holds {foreign} real (non-benchmark) account(s); the benchmark seeder "
            "gives every parent the same password hash and TOTP secret, so it refuses. Use a "
            "throw-away database, or --force if you are sure."
        )


def org_and_client() -> tuple[Organisation, dict]:
    """The benchmark organisation and a new confidential client (in an app context)."""
    org = db.session.scalar(select(Organisation).where(Organisation.code == ORG_CODE))
    if org is None:
        org = Organisation(code=ORG_CODE, name="Benchmark", requires_2fa=True,
                           created_at=clock.timestamp())
        db.session.add(org)
        db.session.commit()
    client = db.session.scalar(select(Client).where(Client.name == CLIENT_NAME))
    if client is not None:
        db.session.delete(client)  # its secret is unknown now: make a new one
        db.session.commit()
    client, secret = register(CLIENT_NAME, [REDIRECT_URI])
    return org, {"client_id": client.client_id, "client_secret": secret, "redirect_uri": REDIRECT_URI}


def seed_parents(database_url: str, organisation_id: int, first: int, count: int,
                 force: bool = False) -> float:
    """Add parents ``first`` .. ``first + count - 1`` with COPY; returns the seconds it took.
    Needs an app context (for the key-encryption key)."""
    started = time.perf_counter()
    password_hash = production_hasher().hash(PASSWORD)
    secret = secret_box().encrypt(TOTP_SECRET.encode(), totp.PURPOSE)
    now = clock.timestamp()
    with psycopg.connect(psycopg_url(database_url)) as conn:
        if not force:
            check_only_benchmark_data(conn)
        with conn.cursor().copy(f"COPY account ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for index in range(first, first + count):
                name = username(index)
                copy.write_row((crypto.new_token(24), organisation_id, name, name + EMAIL_DOMAIN,
                                f"Ouder {index}", "active", password_hash, secret, now, now))
        conn.execute("ANALYZE account")
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="index of the first parent")
    parser.add_argument("--force", action="store_true", help="seed even next to real accounts")
    args = parser.parse_args(argv)
    from idp import create_app

    app = create_app()
    if not app.config["IDP_DATABASE_URL"].startswith("postgresql"):
        print("bench.seed needs PostgreSQL (IDP_DATABASE_URL)", file=sys.stderr)
        return 2
    with app.app_context():
        try:
            if not args.force:  # before anything is made
                with psycopg.connect(psycopg_url(app.config["IDP_DATABASE_URL"])) as conn:
                    check_only_benchmark_data(conn)
            org, client = org_and_client()
            seconds = seed_parents(app.config["IDP_DATABASE_URL"], org.id, args.first, args.count,
                                   args.force)
        except NotBenchmarkData as refused:
            print(refused, file=sys.stderr)
            return 1
    print(f"seeded {args.count} parents in {seconds:.1f} s; client {client['client_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
