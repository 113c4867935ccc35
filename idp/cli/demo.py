"""``idp demo up``: the embedded default, from a fresh clone to a running service.

Migrates the database, makes the signing keys, seeds a demo organisation, a demo relying party,
an invited demo staff member (beheerder, for the console at /beheer) and an invited demo parent
(each only once: running it again is safe), then serves on 127.0.0.1 at the issuer's port (5000
by default) with the image's server, idp.granian_server: one worker, as the in-process store
requires, with /metrics on the next port (5001) unless IDP_METRICS_PORT says otherwise.
"""

import os
import sys
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from idp import audit, keys, settings
from idp.clients import register
from idp.console import service
from idp.cli.db import upgrade
from idp.extensions import db
from idp.accounts.actions import Actor, invite
from idp.models import Account, Client, Organisation
from idp.models.account import BEHEERDER
from idp.web.demo import DEMO_CLIENT

DEMO_ORG = ("PO2806", "PPO Rotterdam")
DEMO_PARENT = {"username": "Yvonne.testouder", "email": "yvonne.testouder@example.org",
               "name": "Yvonne Testouder"}
DEMO_STAFF = {"username": "Anna.beheer", "email": "anna.beheer@example.org",
              "name": "Anna de Vries"}


@click.group("demo")
def group():
    """The embedded demo."""


def seed() -> list[str]:
    """Create what is missing; returns lines telling what to open."""
    upgrade()
    keys.ensure_keys(audit.os_user(), "demo up")
    org = db.session.scalar(select(Organisation).where(Organisation.code == DEMO_ORG[0]))
    if org is None:
        org = service.create_organisation(audit.os_user(), DEMO_ORG[0], name=DEMO_ORG[1],
                                          requires_2fa=True)
    issuer = current_app.config["IDP_ISSUER"]
    lines = []
    client = db.session.scalar(select(Client).where(Client.name == DEMO_CLIENT))
    if client is None:
        client, _ = register(DEMO_CLIENT, [f"{issuer}/demo/callback"],
                             [f"{issuer}/demo/"], public=True)
    # The staff member first: the parent's welcome e-mail is then the last one printed.
    if _account(org, DEMO_STAFF["username"]) is None:
        invite(org, DEMO_STAFF["email"], DEMO_STAFF["username"], DEMO_STAFF["name"],
               Actor(audit.os_user()), role=BEHEERDER)
        lines.append(f"A welcome e-mail for the demo beheerder {DEMO_STAFF['username']} was printed "
                     f"above: activate it too, then sign in and open {issuer}/beheer/.")
    parent = _account(org, DEMO_PARENT["username"])
    if parent is None:
        invite(org, DEMO_PARENT["email"], DEMO_PARENT["username"], DEMO_PARENT["name"],
               Actor(audit.os_user()))
        lines.append("A welcome e-mail for the demo parent was printed above and saved in "
                     "instance/outbox/: open its activation link.")
    elif not parent.is_active:
        lines.append("The demo parent was invited before: its welcome e-mail is in instance/outbox/.")
    lines += [
        f"Demo relying party (client_id {client.client_id}): {issuer}/demo/",
        f"Discovery: {issuer}/.well-known/openid-configuration",
        f"Sign in as {DEMO_PARENT['username']} in {' '.join(DEMO_ORG)} once activated.",
    ]
    return lines


def _account(org: Organisation, username: str) -> Account | None:
    return db.session.scalar(
        select(Account).where(Account.organisation_id == org.id, Account.username == username))


@group.command("up")
@click.option("--no-serve", is_flag=True, help="Only seed; do not start the server.")
@with_appcontext
def up(no_serve):
    """Seed the demo and serve on 127.0.0.1:5000."""
    for line in seed():
        click.echo(line)
    if no_serve:
        return
    sys.stdout.flush()
    os.environ["IDP_DEMO_RP"] = "true"  # the served app then has the demo relying party at /demo/
    os.environ.setdefault("IDP_LOG_FORMAT", "text")  # a console to read, not a log stack
    for key in settings.STATE_FOLDERS:  # the folders just seeded, wherever the server runs
        os.environ[key] = current_app.config[key]
    # Where every link points: the issuer's port (the demo client only allows a local issuer).
    port = urlsplit(current_app.config["IDP_ISSUER"]).port or 5000
    # One worker: the in-process store's sessions live in it. Eight threads, as before.
    os.environ.update(GUNICORN_WORKERS="1", GUNICORN_THREADS="8", GUNICORN_HOST="127.0.0.1",
                      GUNICORN_PORT=str(port))
    os.environ.setdefault("IDP_METRICS_PORT", str(port + 1))  # not 9100: free on a laptop
    # No access log (activation links carry their token in the path); the app logs each request.
    os.execvp(sys.executable, [sys.executable, "-m", "idp.granian_server"])
