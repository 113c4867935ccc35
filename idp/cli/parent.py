"""``idp parent``: parent accounts, as a PPO employee or internal counsellor makes them."""

import click
from flask.cli import with_appcontext

from idp.cli.org import find as find_org
from idp.flows import activation


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
    click.echo(f"Invited {account.username} ({org_code}); the welcome e-mail went to {account.email}.")
