"""``idp keys``: signing keys."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp import keys
from idp.extensions import db
from idp.models import SigningKey


@click.group("keys")
def group():
    """Signing keys for ID tokens and access tokens."""


@group.command("ensure")
@with_appcontext
def ensure():
    """Create an active key for every algorithm that has none (done at every start too)."""
    made = keys.ensure_active_keys()
    click.echo(f"Created {len(made)} key(s)." if made else "Every algorithm has an active key.")


@group.command("list")
@with_appcontext
def list_():
    """kid, algorithm and state of every key."""
    for key in db.session.scalars(select(SigningKey).order_by(SigningKey.id)):
        click.echo(f"{key.kid}\t{key.alg}\t{key.state}")
