"""Token introspection (RFC 7662) for confidential clients, about their own tokens.

Also a client-credentials token, to the client it was issued to. A token that expired, was
revoked, belongs to another client, or whose sign-in session ended is answered with
``{"active": false}`` and nothing else (RFC 7662 section 2.2).
"""

from dataclasses import dataclass
from functools import partial

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from flask import current_app

from idp import clock, crypto, sessions
from idp.models.client import CLIENT_CREDENTIALS
from idp.oauth import bearer, records

#: Only clients that can prove who they are may ask (section 2.1).
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


@dataclass
class _Token:
    client_id: str
    expires_at: int
    live: bool
    payload: dict

    def is_expired(self):
        return self.expires_at <= clock.timestamp()

    def is_revoked(self):
        return not self.live


def _refresh_token(token_string: str) -> _Token | None:
    record = records.refresh_token_by_hash(crypto.token_hash(token_string))
    if record is None:
        return None
    payload = {
        "scope": record.scope,
        "client_id": record.client_id,
        "sub": record.account.subject,
        "iss": current_app.config["IDP_ISSUER"],
        "iat": record.issued_at,
        "exp": record.expires_at,
    }
    live = record.used_at is None and sessions.grant_is_live(record.grant)
    return _Token(record.client_id, record.expires_at, live, payload)


def _access_token(token_string: str, query_client) -> _Token | None:
    claims = bearer.verified_access_token(token_string)
    if claims is None:
        return None
    payload = {name: claims[name] for name in
               ("scope", "client_id", "sub", "aud", "iss", "iat", "exp", "jti", "org") if name in claims}
    payload["token_type"] = "Bearer"
    if isinstance(claims.get("gid"), str):
        live = bearer.live_account(claims) is not None
    else:
        # A client's own token (client credentials): no grant or session to end it, so it lives
        # until it expires, while the client may still use that grant.
        # (The registration from the client cache: the asking client's own, just read.)
        client = query_client(claims["client_id"])
        live = (claims["sub"] == claims["client_id"] and client is not None
                and CLIENT_CREDENTIALS in client.grant_types)
    return _Token(claims["client_id"], claims["exp"], live, payload)


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        # The hint only says where to look first (section 2.1); both kinds are tried.
        if len(token_string) > 4096:
            return None
        lookups = [_refresh_token, partial(_access_token, query_client=self.server.query_client)]
        if token_type_hint == "access_token":
            lookups.reverse()
        for lookup in lookups:
            token = lookup(token_string)
            if token is not None:
                return token
        return None

    def check_permission(self, token, client, request):
        return token.client_id == client.client_id

    def introspect_token(self, token):
        return dict(token.payload, active=True)
