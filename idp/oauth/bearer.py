"""Bearer access tokens we receive (RFC 6750) at our own resource endpoints, i.e. userinfo.

The token must be a JWT we signed: a header that says no more than ours, verified against our
published keys with an explicit algorithm list (idp.oauth.jwt_checks), ``typ: at+jwt``, our
issuer, not expired, neither it nor its grant revoked, and the sign-in session it is bound to
still live.
"""

from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import current_app
from sqlalchemy import select

from idp import clock, sessions
from idp.extensions import db
from idp.models import AccessToken, Account, Client, Grant
from idp.oauth import jwt_checks

ALGORITHMS = ["RS256", "ES256"]


class VerifiedAccessToken:
    def __init__(self, claims: dict, revoked: bool):
        self.claims = claims
        self.scope = claims.get("scope", "")
        self.revoked = revoked

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return self.claims["exp"] <= clock.timestamp()

    def is_revoked(self):
        return self.revoked

    def get_client(self):
        return db.session.scalar(select(Client).where(Client.client_id == self.claims["client_id"]))

    def get_user(self):
        return db.session.scalar(select(Account).where(Account.subject == self.claims["sub"]))


def is_live(claims: dict) -> bool:
    """The access token was recorded, is not revoked, and its grant (and session) lives."""
    row = db.session.execute(
        select(AccessToken.revoked_at, Grant)
        .join(Grant, Grant.id == AccessToken.grant_id)
        .where(AccessToken.jti == claims["jti"])
    ).first()
    return row is not None and row[0] is None and sessions.grant_is_live(row[1])


def verify_access_token(token_string: str) -> dict | None:
    """The claims of a valid access token we issued, or None."""
    token = jwt_checks.verified(token_string, ALGORITHMS)
    if token is None:
        return None
    claims = token.claims
    if token.header.get("typ") != "at+jwt" or claims.get("iss") != current_app.config["IDP_ISSUER"]:
        return None
    if not all(isinstance(claims.get(name), str) for name in ("sub", "client_id", "jti")):
        return None
    if not isinstance(claims.get("exp"), int):
        return None
    return claims


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        claims = verify_access_token(token_string)
        if claims is None:
            return None
        return VerifiedAccessToken(claims, revoked=not is_live(claims))
