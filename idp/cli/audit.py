"""``idp audit``: reading the audit log; and ``--actor``, the option every audited command takes."""

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp import audit
from idp.cli.table import echo_table, when
from idp.extensions import db
from idp.models import AuditEvent

MAX_ACTOR = 150


def _actor(ctx, param, value):
    if value is None:
        return audit.os_user()
    value = value.strip()
    if not value or len(value) > MAX_ACTOR or not value.isprintable():
        raise click.BadParameter(f"give a name or e-mail address of at most {MAX_ACTOR} "
                                 "printable characters")
    return value


def actor_option(command):
    """``--actor``: who does this, for the audit log (default: the operating-system user)."""
    return click.option(
        "--actor", callback=_actor, metavar="NAME",
        help="Who is doing this, for the audit log (default: the operating-system user).",
    )(command)


@click.group("audit")
def group():
    """The audit log of administrative actions."""


@group.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--action", "action_prefix", metavar="PREFIX",
              help="Only actions starting with PREFIX, e.g. signing_key.")
@with_appcontext
def list_(limit, action_prefix):
    """The latest events, newest first: when, who, what, target, detail."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    rows = [(when(e.at), e.actor, e.action, e.target, json.dumps(e.detail, sort_keys=True))
            for e in db.session.scalars(query)]
    echo_table(("at", "actor", "action", "target", "detail"), rows)
