"""``idp staff``: the organisation's staff accounts (roles medewerker, helpdesk, beheerder,
servicebeheer). The first administrator of an organisation is made here; after that the
console's beheerder manages staff. Same rules and audit entries as the console."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp.accounts import actions
from idp.accounts.actions import Actor
from idp.cli.audit import actor_option
from idp.cli.org import find as find_org
from idp.cli.parent import (describe, find_account, org_option, reason_option, run,
                            yes_option, confirm)
from idp.cli.table import echo_table, when
from idp.extensions import db
from idp.models import Account
from idp.models.account import STAFF_ROLES


@click.group("staff")
def group():
    """Staff accounts of an organisation."""


@group.command("add")
@org_option
@click.option("--email", required=True)
@click.option("--username", required=True, help="Case-sensitive, e.g. Anna.devries.")
@click.option("--name", default=None, help="The staff member's name, for e-mails and the log.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@actor_option
@with_appcontext
def add(org_code, email, username, name, role, actor):
    """Invite a staff member: the welcome e-mail goes to them (nothing secret is printed).
    They activate like a parent and always sign in with a code."""
    account = run(actions.invite, find_org(org_code), email, username, name, Actor(actor),
                  role=role)
    click.echo(f"Invited {account.username} ({org_code}) as {role}; the welcome e-mail went "
               f"to {account.email}.")


@group.command("list")
@org_option
@with_appcontext
def list_(org_code):
    """The organisation's staff, by username."""
    org = find_org(org_code)
    rows = [(a.username, a.name or "-", a.email, a.role, a.status, when(a.last_sign_in_at))
            for a in db.session.scalars(select(Account).where(
                Account.organisation_id == org.id, Account.role.isnot(None))
                .order_by(Account.username))]
    echo_table(("username", "name", "email", "role", "status", "last sign-in"), rows)


@group.command("show")
@org_option
@click.argument("username")
@with_appcontext
def show(org_code, username):
    """One staff member: state, invitations, sessions and audit trail."""
    describe(find_account(org_code, username, staff=True))


@group.command("disable")
@org_option
@click.argument("username")
@reason_option
@yes_option
@actor_option
@with_appcontext
def disable(org_code, username, reason, yes, actor):
    """Sign the staff member out everywhere and refuse their sign-in from now on."""
    account = find_account(org_code, username, staff=True)
    confirm(yes, f"Disable staff member {username} ({org_code}) and sign them out everywhere?")
    run(actions.disable, account, Actor(actor, reason=reason))
    click.echo(f"Disabled {username} ({org_code}).")
