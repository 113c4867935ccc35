"""Fixtures: the app on both backends, a browser, a mailbox, a frozen clock, factories.

Every test that takes ``app`` runs twice: on the embedded default (SQLite file, in-process
store, outbox folder) and on production services (PostgreSQL and Redis on 127.0.0.1, a real
SMTP server on loopback). Each pytest process gets its own PostgreSQL database and Redis key
prefix, so parallel runs on one machine don't collide.
"""

import logging
import os
import shutil
import tempfile
import socket
import time
import uuid
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

import psycopg
import pytest
import redis as redis_lib
from aiosmtpd.controller import Controller
from sqlalchemy import text

from idp import clock, create_app, keys
from idp.clients import register
from idp.cli.db import upgrade
from idp.crypto import new_kek
from idp.extensions import db
from idp.logs import JsonFormatter
from idp.models import Organisation
from tests import once_per_process, secrets_seen
from tests.secrets_seen import remember

PG_ADMIN_URL = os.environ.get("IDP_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("IDP_TEST_REDIS", "redis://127.0.0.1:6379/0")
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
KEK = new_kek()

BASE_SETTINGS = {
    "TESTING": True,
    # The test client's default host: the issuer's, so cookies follow redirects as in a browser.
    "SERVER_NAME": "idp.test",
    "IDP_ISSUER": "http://idp.test",
    "IDP_SECRET_KEY": "test-secret-key",
    "IDP_KEY_ENCRYPTION_KEY": KEK,
    "IDP_BRAND": "Ouderportaal",
    "IDP_MAIL_FROM": "Ouderportaal <no-reply@idp.test>",
    # Cheaper argon2id than production (OWASP's m=19 MiB, t=2) keeps the suite fast.
    "IDP_ARGON2_TIME_COST": 1,
    "IDP_ARGON2_MEMORY_KIB": 1024,
    "IDP_LOG_LEVEL": "WARNING",
}


# --- templates, URL rules, signing keys: worked out once per process, not once per test's app
once_per_process.install()


# --- the run's folder: logs and secrets of every process, for tests/test_log_hygiene.py --------
_MADE_RUN_DIR = pytest.StashKey[Path]()


def pytest_configure(config):
    """The first process (the only one, or pytest-xdist's controller) makes the run's folder;
    its workers inherit IDP_TEST_RUN_DIR and write into it (tests/secrets_seen.py)."""
    if not os.environ.get("IDP_TEST_RUN_DIR"):
        os.environ["IDP_TEST_RUN_DIR"] = tempfile.mkdtemp(prefix="idp-test-run-")
        config.stash[_MADE_RUN_DIR] = Path(os.environ["IDP_TEST_RUN_DIR"])
    secrets_seen.share_in(Path(os.environ["IDP_TEST_RUN_DIR"]))


def pytest_unconfigure(config):
    secrets_seen.stop_sharing()
    made = config.stash.get(_MADE_RUN_DIR, None)
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
        del os.environ["IDP_TEST_RUN_DIR"]


@pytest.fixture(scope="session", autouse=True)
def every_log_line():
    """Write every log record of this process (INFO and up, as in production) as JSON to a file
    in the run's folder; the folder goes when the run ends."""
    log_file = Path(os.environ["IDP_TEST_RUN_DIR"]) / f"log-{RUN_ID}.jsonl"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    secrets_seen.watch_log(log_file)
    yield log_file
    root.removeHandler(handler)
    handler.close()


def pytest_collection_modifyitems(items):
    """The log hygiene check runs last, when every other test has logged what it logs (with
    pytest-xdist: after every other worker has ended, tests/last_scheduling.py)."""
    from tests.last_scheduling import runs_last

    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
    for item in items:
        assert (item.get_closest_marker("last") is not None) == runs_last(item.nodeid), (
            f"{item.nodeid}: mark it `last` and list its module in LAST_MODULES, or neither")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") == "load":
        from tests.last_scheduling import LastScheduling

        return LastScheduling(config, log)
    return None


# --- SMTP: a real server on loopback ---------------------------------------------------------
class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server():
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


# --- databases ---------------------------------------------------------------------------------
def _migrate_and_key(overrides: dict) -> None:
    app = create_app(overrides)
    with app.app_context():
        upgrade()
        keys.forget_cache()
        keys.ensure_keys("tests", "test template")
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated SQLite file with signing keys; each test gets a copy."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    url = f"sqlite:///{folder / 'template.sqlite3'}"
    _migrate_and_key({**BASE_SETTINGS, "IDP_DATABASE_URL": url, "IDP_INSTANCE_DIR": str(folder)})
    return folder / "template.sqlite3"


@contextmanager
def scratch_database(label: str):
    """An empty PostgreSQL database of this run's own, dropped afterwards (also when a test took
    it away from its connections); yields its SQLAlchemy URL."""
    name = f"idp_{label}_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url():
    with scratch_database("test") as url:
        _migrate_and_key({**BASE_SETTINGS, "IDP_DATABASE_URL": url, "IDP_REDIS_URL": REDIS_URL})
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            _PG_SIGNING_KEYS.extend(conn.execute(_SIGNING_KEYS_QUERY).fetchall())
        yield url


_KEPT_TABLES = {"alembic_version", "signing_key"}
# The signing keys every PostgreSQL test starts with; a test that rotates, revokes or
# re-encrypts them gets them put back (SQLite tests each have their own copy of the file).
_PG_SIGNING_KEYS: list = []
_SIGNING_KEY_COLUMNS = [c.name for c in db.metadata.tables["signing_key"].columns]
_SIGNING_KEYS_QUERY = f"SELECT {', '.join(_SIGNING_KEY_COLUMNS)} FROM signing_key ORDER BY id"


# Children before parents. DELETE, not TRUNCATE: the tables hold a test's few rows, and
# TRUNCATE makes new files for every table (about 200 ms a test against 6 ms).
_EMPTIED_TABLES = [t.name for t in reversed(db.metadata.sorted_tables)
                   if t.name not in _KEPT_TABLES]


def _empty_tables(app):
    with app.app_context():
        for table in _EMPTIED_TABLES:
            db.session.execute(text(f'DELETE FROM "{table}"'))
        _restore_signing_keys()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _restore_signing_keys():
    now = [tuple(row) for row in db.session.execute(text(_SIGNING_KEYS_QUERY))]
    if now == [tuple(row) for row in _PG_SIGNING_KEYS]:
        return
    table = db.metadata.tables["signing_key"]
    db.session.execute(table.delete())
    db.session.execute(table.insert(),
                       [dict(zip(_SIGNING_KEY_COLUMNS, row)) for row in _PG_SIGNING_KEYS])


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def app(backend, request, tmp_path, smtp_server):
    """The app on the backend of this test's parametrization; a test marked
    ``@pytest.mark.app_settings(IDP_ISSUER="https://idp.test")`` gets those settings too."""
    clock.unfreeze()
    keys.forget_cache()
    overrides = {**BASE_SETTINGS, "IDP_INSTANCE_DIR": str(tmp_path / "instance")}
    marker = request.node.get_closest_marker("app_settings")
    overrides.update(marker.kwargs if marker else {})
    if backend == "sqlite":
        database = tmp_path / "idp.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), database)
        overrides["IDP_DATABASE_URL"] = f"sqlite:///{database}"
    else:
        controller, inbox = smtp_server
        inbox.messages.clear()
        prefix = f"idptest:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
        overrides.update(
            IDP_DATABASE_URL=request.getfixturevalue("postgres_url"),
            IDP_REDIS_URL=REDIS_URL,
            IDP_REDIS_PREFIX=prefix,
            IDP_SMTP_URL=f"smtp://127.0.0.1:{controller.port}",
        )
    application = create_app(overrides)
    yield application
    clock.unfreeze()
    keys.forget_cache()
    if backend == "postgres":
        _empty_tables(application)
        application.extensions["idp.store"].close()
        with redis_lib.Redis.from_url(REDIS_URL) as r:
            # Large SCAN pages: the shared Redis may hold thousands of other keys, and SCAN's
            # default of 10 a call made this a few hundred round trips per test.
            keys_left = list(r.scan_iter(f"{prefix}*", count=10_000))
            if keys_left:
                r.delete(*keys_left)
    else:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- mail ----------------------------------------------------------------------------------
class Mailbox:
    """What was sent during the test: from the SMTP server, or from the outbox folder."""

    def __init__(self, app, backend, smtp_server):
        self.app, self.backend, self.smtp_server = app, backend, smtp_server

    def messages(self):
        if self.backend == "postgres":
            deadline = time.monotonic() + 5
            while not self.smtp_server[1].messages and time.monotonic() < deadline:
                time.sleep(0.01)
            return list(self.smtp_server[1].messages)
        outbox = Path(self.app.config["IDP_INSTANCE_DIR"]) / "outbox"
        files = sorted(outbox.glob("*.eml")) if outbox.exists() else []
        return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]

    def last(self):
        messages = self.messages()
        assert messages, "no e-mail was sent"
        return messages[-1]

    def count(self) -> int:
        """How many were sent so far, without waiting for one (SMTP delivery is synchronous)."""
        if self.backend == "postgres":
            return len(self.smtp_server[1].messages)
        outbox = Path(self.app.config["IDP_INSTANCE_DIR"]) / "outbox"
        return len(list(outbox.glob("*.eml"))) if outbox.exists() else 0


@pytest.fixture
def mailbox(app, backend, smtp_server):
    return Mailbox(app, backend, smtp_server)


# --- clock -----------------------------------------------------------------------------------
@pytest.fixture
def frozen_clock():
    clock.freeze(time.time())
    yield clock
    clock.unfreeze()


# --- factories -------------------------------------------------------------------------------
@pytest.fixture
def make_org(app):
    def make(code="PO2806", name="PPO Rotterdam", requires_2fa=True):
        with app.app_context():
            org = Organisation(code=code, name=name, requires_2fa=requires_2fa,
                               created_at=clock.timestamp())
            db.session.add(org)
            db.session.commit()
            return code

    return make


@pytest.fixture
def make_client(app):
    def make(name="Dossier", redirect_uris=("https://dossier.test/callback",), public=False,
             alg="RS256", auth_method="client_secret_basic", post_logout_uris=(),
             backchannel_logout_uri=None, allow_offline_access=False):
        with app.app_context():
            client, secret = register(
                name, list(redirect_uris), list(post_logout_uris), public=public, alg=alg,
                auth_method=auth_method, backchannel_logout_uri=backchannel_logout_uri,
                allow_offline_access=allow_offline_access,
            )
            remember(secret)
            return {"client_id": client.client_id, "client_secret": secret,
                    "redirect_uri": redirect_uris[0]}

    return make


@pytest.fixture
def invite(app):
    """A parent invited with the checks of ``idp.accounts.actions`` and the welcome e-mail, but
    no audit event: setup, not a staff member's act (tests of invitations call the actions).
    Inviting one who is still waiting again sends a new link; the old one dies."""
    from idp.accounts.actions import new_invitation
    from idp.flows import activation
    from idp.models import Account

    def make(org_code="PO2806", username="Yvonne.testouder", email="yvonne@example.org",
             name="Yvonne Testouder"):
        with app.app_context():
            org = db.session.query(Organisation).filter_by(code=org_code).one()
            account = db.session.query(Account).filter_by(organisation_id=org.id,
                                                          username=username).one_or_none()
            if account is None:
                account = new_invitation(org, email, username, name)
                db.session.add(account)
                db.session.flush()
            token = activation.issue_link(account)
            db.session.commit()
            activation.send_welcome(account, token)

    return make


def subject_of(app, username: str, org_code: str = "PO2806") -> str:
    """The account's ``subject``: how the console addresses a parent."""
    from idp.models import Account

    with app.app_context():
        org = db.session.query(Organisation).filter_by(code=org_code).one()
        return db.session.query(Account).filter_by(organisation_id=org.id, username=username).one().subject


@pytest.fixture
def make_staff(app, mailbox, frozen_clock):
    """A staff member with ``role`` in ``org``, activated and signed in, in a browser of their own."""
    from idp.accounts.actions import Actor, invite as invite_account
    from tests.actors import Staff

    def make(role="helpdesk", org="PO2806", username=None, name=None, sign_in=True):
        username = username or f"{role.capitalize()}.{org.lower()}"
        with app.app_context():
            organisation = db.session.query(Organisation).filter_by(code=org).one()
            invite_account(organisation, f"{username.lower()}@{org.lower()}.test", username,
                           name or f"{role.capitalize()} {org}", Actor("tests"), role=role)
        staff = Staff(app.test_client(), mailbox, username, org)
        staff.activate()
        if sign_in:
            response = staff.sign_in()
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return staff

    return make


@pytest.fixture
def logout_receiver():
    """A relying party's back-channel logout endpoint (a real HTTP server)."""
    from tests.receiver import LogoutReceiver

    receiver = LogoutReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def parent(app, client, mailbox, make_org, invite, frozen_clock):
    """Yvonne of PO2806 PPO Rotterdam, activated 30 seconds ago, not signed in."""
    from tests.actors import Parent

    make_org()
    invite()
    parent = Parent(client, mailbox)
    parent.activate()
    return parent


@pytest.fixture
def world(app, client, mailbox, make_org, make_client, invite, frozen_clock):
    """An activated parent of PO2806 and a confidential relying party."""
    from tests.actors import Parent, RelyingParty

    make_org()
    registered = make_client()
    invite()
    parent = Parent(client, mailbox)
    parent.activate()
    rp = RelyingParty(client, registered["client_id"], registered["client_secret"],
                      registered["redirect_uri"])
    return parent, rp


@pytest.fixture
def make_provisioner(app, client):
    """A client-credentials client with the ``scim`` scope (tests/scim_client.py), bound to
    the organisation ``org`` (a code), or service-wide with ``org=None``."""
    from idp.clients import register_program
    from tests.scim_client import Provisioner

    def make(org="PO2806", scopes=("scim",), name="Dossier sync"):
        with app.app_context():
            organisation = (db.session.query(Organisation).filter_by(code=org).one()
                            if org else None)
            registered, secret = register_program(name, list(scopes), organisation)
            return Provisioner(client, registered.client_id, secret)

    return make
