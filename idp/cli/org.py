"""``idp org``: organisations parents sign in under."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp.cli.audit import actor_option
from idp.console import service
from idp.extensions import db
from idp.models import Organisation


@click.group("org")
def group():
    """Organisations (samenwerkingsverbanden)."""


@group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--no-2fa", is_flag=True, help="Sign in without an authenticator code.")
@actor_option
@with_appcontext
def add(code, name, no_2fa, actor):
    """Add an organisation, e.g. idp org add PO2806 "PPO Rotterdam"."""
    # The console's checks and audit event (servicebeheer), so both ways in are alike.
    try:
        org = service.create_organisation(actor, code, name=name, requires_2fa=not no_2fa)
    except service.Invalid as invalid:
        raise click.ClickException(str(invalid)) from None
    click.echo(f"Added {org.code} {org.name} (two-factor sign-in "
               f"{'required' if org.requires_2fa else 'off'}).")


@group.command("list")
@with_appcontext
def list_():
    """List organisations."""
    for org in db.session.scalars(select(Organisation).order_by(Organisation.code)):
        click.echo(f"{org.code}\t{org.name}\t2fa={'yes' if org.requires_2fa else 'no'}")


def find(code: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise click.ClickException(f"no organisation with code {code}; see `idp org list`")
    return org
