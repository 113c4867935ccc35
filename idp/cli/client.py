"""``idp client``: relying parties (the dossier application and other PPO tools)."""

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp.cli.org import find as find_org
from idp.clients import BadRegistration, register, register_program
from idp.extensions import db
from idp.keys import SUPPORTED_ALGS
from idp.models import Client, Organisation
from idp.models.client import CLIENT_CREDENTIALS
from idp.oauth.claims import CLIENT_SCOPES

GRANTS = ("authorization_code", CLIENT_CREDENTIALS)


@click.group("client")
def group():
    """Relying parties."""


@group.command("add")
@click.argument("name")
@click.option("--grant", type=click.Choice(GRANTS), default="authorization_code",
              help="authorization_code (default): signs parents in. client_credentials: a "
                   "program acting for itself, e.g. SCIM provisioning (needs --scope).")
@click.option("--scope", "scopes", multiple=True,
              help=f"client_credentials only: what it may do ({', '.join(CLIENT_SCOPES)}).")
@click.option("--org", "org_code", help="client_credentials only: the one organisation it may "
                                        "act on. Without it the client is service-wide.")
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True)
@click.option("--public", is_flag=True, help="No secret (an app in the browser); PKCE only.")
@click.option("--id-token-alg", type=click.Choice(SUPPORTED_ALGS), default="RS256")
@click.option("--auth-method", type=click.Choice(["client_secret_basic", "client_secret_post"]),
              default="client_secret_basic", help="How a confidential client authenticates.")
@click.option("--backchannel-logout-uri",
              help="Where we POST a logout token when a session this client took part in ends.")
@click.option("--allow-offline-access", is_flag=True,
              help="May ask for offline_access: refresh tokens that outlive the sign-in session.")
@click.option("--json", "as_json", is_flag=True, help="Print {client_id, client_secret} as JSON.")
@with_appcontext
def add(name, grant, scopes, org_code, redirect_uris, post_logout_uris, public, id_token_alg,
        auth_method, backchannel_logout_uri, allow_offline_access, as_json):
    """Register a relying party, or a program (--grant client_credentials). The secret is shown
    once; only its hash is kept."""
    if grant == CLIENT_CREDENTIALS:
        sign_in_only = dict(redirect_uris=redirect_uris, post_logout_uris=post_logout_uris,
                            public=public, backchannel_logout_uri=backchannel_logout_uri,
                            allow_offline_access=allow_offline_access)
        given = sorted(option for option, value in sign_in_only.items() if value)
        if given:
            raise click.UsageError(f"--grant client_credentials signs nobody in: drop "
                                   f"{', '.join('--' + g.replace('_', '-') for g in given)}")
        organisation = find_org(org_code) if org_code else None
        client, secret = _refused_as_bad_parameter(
            register_program, name, scopes, organisation, auth_method)
    else:
        if scopes or org_code:
            raise click.UsageError("--scope and --org are for --grant client_credentials")
        if not redirect_uris:
            raise click.UsageError("Missing option '--redirect-uri'.")
        client, secret = _refused_as_bad_parameter(
            register, name, redirect_uris, post_logout_uris, public, id_token_alg, auth_method,
            backchannel_logout_uri, allow_offline_access,
        )
    if as_json:
        click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret}))
        return
    click.echo(f"client_id:     {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Store the secret now: it is not shown again.")


def _refused_as_bad_parameter(register_with, *args):
    try:
        return register_with(*args)
    except BadRegistration as refused:
        raise click.BadParameter(str(refused)) from None


@group.command("list")
@with_appcontext
def list_():
    """List relying parties and programs."""
    for client in db.session.scalars(select(Client).order_by(Client.id)):
        if CLIENT_CREDENTIALS in client.grant_types:
            bound = db.session.get(Organisation, client.organisation_id or 0)
            reach = bound.code if bound else "service-wide"
            click.echo(f"{client.client_id}\t{client.name}\t{CLIENT_CREDENTIALS}\t"
                       f"{client.scope}\t{reach}")
            continue
        click.echo(f"{client.client_id}\t{client.name}\t{client.token_endpoint_auth_method}\t"
                   f"{' '.join(client.redirect_uris)}\t{client.backchannel_logout_uri or '-'}")
