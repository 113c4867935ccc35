"""Who is calling SCIM: a bearer access token (RFC 6750 2.1) that we signed for a program
acting for itself (client credentials, RFC 6749 4.4; RFC 9068 2.2: ``sub`` is the client_id),
with the ``scim`` scope, whose client is still registered for that grant and still bound to the
organisation the token names (``org``: a code, or ``*`` for a service-wide client), and not
disabled: all of that read from the database on every request, so a change counts at once.

A parent's access token, a token of another issuer, an expired or unreadable one: 401
``invalid_token``. A program's token without ``scim``: 403 ``insufficient_scope``. Both with a
``WWW-Authenticate`` challenge and an RFC 7644 3.12 body (idp.scim.views.refusal).
"""

from dataclasses import dataclass

from flask import request
from scim2_models import SCIMException

from idp import clock
from idp.accounts.actions import Actor
from idp.models.client import CLIENT_CREDENTIALS
from idp.oauth import bearer, tokens
from idp.oauth.server import query_client
from idp.scim.errors import INSUFFICIENT_SCOPE, INVALID_TOKEN

SCOPE = "scim"


class BearerError(SCIMException):
    """401 or 403 with the RFC 6750 WWW-Authenticate challenge that says why."""

    def __init__(self, status: int, detail: str, error: str | None = None):
        super().__init__(detail=detail)
        self.status, self.error = status, error

    def challenge(self) -> str:
        challenge = 'Bearer realm="scim"'
        if self.error:
            challenge += f', error="{self.error}"'
        if self.error == INSUFFICIENT_SCOPE:
            challenge += ', scope="scim"'
        return challenge


@dataclass(frozen=True)
class Caller:
    client_id: str
    #: The one organisation this caller may see and change; None: every organisation.
    organisation_id: int | None

    @property
    def actor(self) -> Actor:
        return Actor(name=f"scim:{self.client_id}", ip=request.remote_addr)


def _invalid(detail: str) -> BearerError:
    return BearerError(401, detail, INVALID_TOKEN)


def caller() -> Caller:
    """The verified caller of this request, or a BearerError."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # RFC 6750 3.1: a request without credentials gets the challenge without an error code.
        raise BearerError(401, "A bearer access token (client credentials, scope scim) is required.")
    claims = bearer.verified_access_token(token.strip())
    if claims is None:
        raise _invalid("The access token is not one of ours, or cannot be read.")
    if claims["exp"] <= clock.timestamp():
        raise _invalid("The access token has expired.")
    if "gid" in claims or claims["sub"] != claims["client_id"]:
        raise _invalid("This is a parent's access token; SCIM takes a client's own token.")
    # Read now, not from the cache: a client disabled (Client.disabled_at) or no longer
    # allowed the grant is refused on every worker from its next request.
    client = query_client(claims["client_id"], fresh=True)
    if client is None or CLIENT_CREDENTIALS not in client.grant_types:
        raise _invalid("The client of this token is disabled or may not use SCIM.")
    if SCOPE not in str(claims.get("scope", "")).split():
        raise BearerError(403, "The access token lacks the scim scope.", INSUFFICIENT_SCOPE)
    audience = claims.get("aud")
    if tokens.client_audience(SCOPE) not in (audience if isinstance(audience, list) else [audience]):
        raise _invalid("The access token is meant for another resource server.")
    # The binding now, not only when the token was made: a client moved to another
    # organisation (or made service-wide) is refused until it asks for a new token.
    if claims.get("org") != tokens.organisation_claim(client):
        raise _invalid("The client's organisation has changed since this token was issued.")
    return Caller(client.client_id, client.organisation_id)
