"""The ONLY place Authlib is wired to the app: the authorization server, its grants (code,
refresh, client credentials), endpoints,
token generator and the resource protector for userinfo."""

import os

from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from flask import current_app
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.models import Client
from idp.oauth import claims, tokens
from idp.oauth.bearer import AccessTokenValidator
from idp.oauth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    OpenIDCode,
    OpenIDRefresh,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from idp.oauth.introspection import IntrospectionEndpoint
from idp.oauth.revocation import RevocationEndpoint


#: app.extensions key of this process's registered clients: client_id -> (client, expires at).
CLIENT_CACHE = "idp.clients"


def query_client(client_id, *, fresh: bool = False):
    """The registered client, read at most every IDP_CLIENT_CACHE_TTL seconds per process:
    every token, introspection and authorization request needs it, and registrations hardly
    ever change. Only clients that exist are kept, so the cache is as small as the register.
    ``fresh``: read it now (and cache that), for a caller that must see a client disabled on
    another worker at once (SCIM, which changes accounts)."""
    # PostgreSQL text cannot hold NUL: such a client_id would fail the query (a 500), and
    # it may arrive in HTTP Basic credentials, which no request limit reads.
    if not client_id or len(client_id) > 64 or "\x00" in client_id:
        return None
    cache = current_app.extensions.setdefault(CLIENT_CACHE, {})
    now = clock.now()
    cached = cache.get(client_id)
    if cached is not None and now < cached[1] and not fresh:
        client = cached[0]
    else:
        client = db.session.scalar(select(Client).where(Client.client_id == client_id))
        ttl = current_app.config["IDP_CLIENT_CACHE_TTL"]
        if client is not None and ttl > 0:
            # Detached: read-only from here on, shared by this process's threads, and never
            # expired (or read again) by a commit of the request that loaded it.
            db.session.expunge(client)
            cache[client_id] = (client, now + ttl)
        elif client is None:
            cache.pop(client_id, None)
    # A disabled client is as good as unknown: no authorization, token, refresh, introspection;
    # from the cache too (a disabled registration is cached like any other).
    return None if client is not None and client.disabled_at is not None else client


def forget_client(client_id: str) -> None:
    """This process reads the registration again at once (others within IDP_CLIENT_CACHE_TTL)."""
    current_app.extensions.get(CLIENT_CACHE, {}).pop(client_id, None)


def client_secret_basic(query_client, request):
    """Authlib's ``client_secret_basic``, except that malformed credentials are wrong ones (401
    ``invalid_client``). Authlib lets two kinds escape as exceptions, i.e. a 500: credentials
    that are not UTF-8 (RFC 7617 2.1) and a scheme with nothing after it ("Basic ")."""
    try:
        return authenticate_client_secret_basic(query_client, request)
    except ValueError:  # UnicodeDecodeError is one
        return None


class _AuthorizationServer(AuthorizationServer):
    """Authlib's Flask server, which also answers a request other than Flask's current one: the
    authorization request that waited for a sign-in is answered in that sign-in's POST
    (idp.web.authorization). Authlib's own ``create_authorization_response`` already takes an
    OAuth2Request as it is; its ``get_consent_grant`` then does too."""

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)

    def create_consented_response(self, grant, grant_user):
        """Authlib's ``create_authorization_response`` for a grant that ``get_consent_grant``
        validated in this same request: the code and the redirect, without validating the
        request a second time (Authlib's does; ~60-80 us of the sign-in POST). The grant's
        ``after_authorization_response`` hook runs as there; no server hooks are registered."""
        try:
            args = grant.create_authorization_response(grant.redirect_uri, grant_user)
            response = self.handle_response(*args)
        except OAuth2Error as error:
            error.state = grant.request.payload.state
            response = self.handle_error_response(grant.request, error)
        grant.execute_hook("after_authorization_response", response)
        return response

    def handle_response(self, status_code, payload, headers):
        """RFC 9207 2: every authorization response to the client, a code or an error, names us
        in ``iss``, so a client that uses several providers cannot be mixed up. The server's
        only redirects are authorization responses. (Authlib's ``rfc9207.IssuerParameter``
        covers ``create_authorization_response`` only, not the refusals that /authorize sends
        through ``handle_error_response``: login_required, invalid_request.)"""
        if any(name == "Location" for name, _ in headers):  # not on the token endpoint's path
            issuer = current_app.config["IDP_ISSUER"]
            headers = [(name, add_params_to_uri(value, [("iss", issuer)]) if name == "Location"
                        else value) for name, value in headers]
        return super().handle_response(status_code, payload, headers)


server = _AuthorizationServer(query_client=query_client, save_token=tokens.save_token)
resource_protector = ResourceProtector()


class UserInfoEndpoint(_UserInfoEndpoint):
    """OIDC Core 5.3: the same claims as the ID token, by scope."""

    def generate_user_info(self, user, scope):
        return claims.user_info(user, scope)


def init_oauth(app):
    # Transport security is decided by IDP_ISSUER (https in production, where TLS ends at the
    # ingress); Authlib's per-request check would only see the plain-HTTP hop behind it.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app.config["OAUTH2_SCOPES_SUPPORTED"] = list(claims.SCOPES_SUPPORTED)
    server.init_app(app)
    server.register_client_auth_method("client_secret_basic", client_secret_basic)
    # No token generator is registered: our grants make their tokens themselves
    # (grants._GrantTokens), because an access token names its grant, which Authlib's generator
    # hook is not told.
    server.register_grant(
        AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDCode(require_nonce=False)]
    )
    server.register_grant(RefreshTokenGrant, [OpenIDRefresh()])
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    resource_protector.register_token_validator(AccessTokenValidator())
    server.register_endpoint(UserInfoEndpoint(resource_protector=resource_protector))
