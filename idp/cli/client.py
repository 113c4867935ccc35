"""``idp client``: relying parties (the dossier application and other PPO tools)."""

import json
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp import clock, crypto
from idp.extensions import db
from idp.cli.org import find as find_org
from idp.keys import SUPPORTED_ALGS
from idp.models import Client, Organisation
from idp.models.client import CLIENT_CREDENTIALS, SIGN_IN_GRANTS
from idp.oauth.claims import CLIENT_SCOPES

DEFAULT_SCOPE = "openid profile email"
GRANTS = ("authorization_code", CLIENT_CREDENTIALS)


def _check_uri(uri: str) -> str:
    parts = urlsplit(uri)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not local):
        raise click.BadParameter(f"{uri}: use https (http only for localhost)")
    if parts.fragment:
        raise click.BadParameter(f"{uri}: a URI here may not have a #fragment")
    return uri


def register(name, redirect_uris, post_logout_uris=(), public=False, alg="RS256",
             auth_method="client_secret_basic", backchannel_logout_uri=None,
             allow_offline_access=False, *, commit=True):
    """Create a client; returns it and its secret (None for a public client). ``commit=False``:
    the caller commits (with its audit event)."""
    return _add(
        name, redirect_uris, post_logout_uris, public, alg, auth_method, backchannel_logout_uri,
        scope=DEFAULT_SCOPE + (" offline_access" if allow_offline_access else ""), commit=commit,
    )


def register_program(name, scopes, organisation=None, auth_method="client_secret_basic"):
    """Create a client-credentials client (RFC 6749 4.4) for ``scopes`` (CLIENT_SCOPES), bound
    to ``organisation`` or service-wide (None); returns it and its secret."""
    unknown = sorted(set(scopes) - set(CLIENT_SCOPES))
    if not scopes or unknown:
        raise click.BadParameter(
            f"a client-credentials client needs --scope from: {', '.join(CLIENT_SCOPES)}"
            + (f" (not {', '.join(unknown)})" if unknown else ""))
    return _add(name, [], auth_method=auth_method, scope=" ".join(dict.fromkeys(scopes)),
                grant_types=(CLIENT_CREDENTIALS,), organisation=organisation)


def _add(name, redirect_uris, post_logout_uris=(), public=False, alg="RS256",
         auth_method="client_secret_basic", backchannel_logout_uri=None, *, scope,
         grant_types=SIGN_IN_GRANTS, organisation=None, commit=True):
    secret = None if public else crypto.new_token(32)
    client = Client(
        client_id=crypto.new_token(16),
        client_secret_hash=crypto.token_hash(secret) if secret else None,
        name=name,
        redirect_uris=[_check_uri(u) for u in redirect_uris],
        post_logout_redirect_uris=[_check_uri(u) for u in post_logout_uris],
        token_endpoint_auth_method="none" if public else auth_method,
        id_token_signed_response_alg=alg,
        backchannel_logout_uri=_check_uri(backchannel_logout_uri) if backchannel_logout_uri else None,
        scope=scope,
        grant_types_text=" ".join(grant_types),
        organisation_id=organisation.id if organisation else None,
        created_at=clock.timestamp(),
    )
    db.session.add(client)
    db.session.commit() if commit else db.session.flush()
    return client, secret


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
        client, secret = register_program(name, scopes, organisation, auth_method)
    else:
        if scopes or org_code:
            raise click.UsageError("--scope and --org are for --grant client_credentials")
        if not redirect_uris:
            raise click.UsageError("Missing option '--redirect-uri'.")
        client, secret = register(
            name, redirect_uris, post_logout_uris, public, id_token_alg, auth_method,
            backchannel_logout_uri, allow_offline_access,
        )
    if as_json:
        click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret}))
        return
    click.echo(f"client_id:     {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Store the secret now: it is not shown again.")


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
