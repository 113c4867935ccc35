"""``idp parent``: parent accounts, as a PPO employee or internal counsellor makes them."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp import audit, mail, sessions
from idp.cli.org import find as find_org
from idp.extensions import db
from idp.flows import activation, lockout
from idp.models import Account


@click.group("parent")
def group():
    """Parent accounts."""


@group.command("invite")
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. PO2806.")
@click.option("--email", required=True)
@click.option("--username", required=True, help="Case-sensitive, e.g. Yvonne.testouder.")
@click.option("--name", default=None, help="The parent's name, for e-mails and pages.")
@with_appcontext
def invite(org_code, email, username, name):
    """Create the account (not yet active) and send the welcome e-mail with the activation link.

    Inviting a not-yet-active account again sends a new link and voids the old one.
    """
    try:
        account = activation.invite(find_org(org_code), email, username, name)
    except activation.InvitationError as error:
        raise click.ClickException(str(error)) from None
    except mail.MailError as error:
        raise click.ClickException(
            f"{username} ({org_code}) is invited, but the welcome e-mail could not be sent "
            f"({error}). Fix IDP_SMTP_URL and run this command again: it sends a new link."
        ) from None
    click.echo(f"Invited {account.username} ({org_code}); the welcome e-mail went to {account.email}.")


def _find_parent(org_code: str, username: str) -> Account:
    org = find_org(org_code)
    account = db.session.scalar(
        select(Account).where(Account.organisation_id == org.id, Account.username == username)
    )
    if account is None:
        raise click.ClickException(f"No parent {username!r} in {org_code} (usernames are case-sensitive).")
    return account


@group.command("unlock")
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. PO2806.")
@click.option("--actor", default=None, help="Who does this, for the audit log (default: you).")
@click.argument("username")
@with_appcontext
def unlock(org_code, actor, username):
    """Let a parent whose account was locked by failed sign-ins sign in again at once."""
    account = _find_parent(org_code, username)
    was_locked = account.locked_at is not None
    lockout.unlock(account, actor or audit.os_user())
    click.echo(f"Unlocked {username} ({org_code})" + ("." if was_locked else
               "; it was not locked by the helpdesk limit, its failed attempts are forgotten."))


@group.command("logout")
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. PO2806.")
@click.argument("username")
@with_appcontext
def logout(org_code, username):
    """End every sign-in session of this parent now (relying parties hear of it by
    back-channel logout; refresh tokens bound to the sessions stop working)."""
    account = _find_parent(org_code, username)
    ended = sessions.end_all_for(account.id, sessions.ADMIN)
    click.echo(f"Ended {ended} session(s) of {username} ({org_code}).")
