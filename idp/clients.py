"""Registering clients: the one place a relying party (signs parents in) or a program (acts for
itself, RFC 6749 4.4) is made, with the rule for its URIs. Used by ``idp client add``, the
console's service pages, the demo and the tests; each caller words a refusal its own way."""

from urllib.parse import urlsplit

from idp import clock, crypto
from idp.extensions import db
from idp.models import Client
from idp.models.client import CLIENT_CREDENTIALS, SIGN_IN_GRANTS
from idp.oauth.claims import CLIENT_SCOPES


DEFAULT_SCOPE = "openid profile email"


class BadRegistration(ValueError):
    """What is wrong with a registration, in a sentence for the person registering."""


def check_uri(uri: str) -> str:
    parts = urlsplit(uri)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not local):
        raise BadRegistration(f"{uri}: use https (http only for localhost)")
    if parts.fragment:
        raise BadRegistration(f"{uri}: a URI here may not have a #fragment")
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
        raise BadRegistration(
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
        redirect_uris=[check_uri(u) for u in redirect_uris],
        post_logout_redirect_uris=[check_uri(u) for u in post_logout_uris],
        token_endpoint_auth_method="none" if public else auth_method,
        id_token_signed_response_alg=alg,
        backchannel_logout_uri=check_uri(backchannel_logout_uri) if backchannel_logout_uri else None,
        scope=scope,
        grant_types_text=" ".join(grant_types),
        organisation_id=organisation.id if organisation else None,
        created_at=clock.timestamp(),
    )
    db.session.add(client)
    db.session.commit() if commit else db.session.flush()
    return client, secret
