"""``idp client``: relying parties (the dossier application and other PPO tools)."""

import json
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp import clock, crypto
from idp.extensions import db
from idp.keys import SUPPORTED_ALGS
from idp.models import Client

DEFAULT_SCOPE = "openid profile email"


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
        scope=DEFAULT_SCOPE + (" offline_access" if allow_offline_access else ""),
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
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
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
def add(name, redirect_uris, post_logout_uris, public, id_token_alg, auth_method,
        backchannel_logout_uri, allow_offline_access, as_json):
    """Register a relying party. The secret is shown once; only its hash is kept."""
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
    """List relying parties."""
    for client in db.session.scalars(select(Client).order_by(Client.id)):
        click.echo(f"{client.client_id}\t{client.name}\t{client.token_endpoint_auth_method}\t"
                   f"{' '.join(client.redirect_uris)}\t{client.backchannel_logout_uri or '-'}")
