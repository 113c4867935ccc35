"""Bearer access tokens we receive (RFC 6750) at our own resource endpoints, i.e. userinfo.

The token must be a JWT we signed: verified against our published keys with an explicit
algorithm list, ``typ: at+jwt``, our issuer, not expired, and neither it nor its grant revoked.
"""

from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select

from idp import clock, keys
from idp.extensions import db
from idp.models import AccessToken, Account, Client, Grant

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


def verify_access_token(token_string: str) -> dict | None:
    """The claims of a valid access token we issued, or None."""
    try:
        token = jwt.decode(token_string, keys.verification_keys(), algorithms=ALGORITHMS)
    except (JoseError, ValueError):
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
        revoked = db.session.execute(
            select(AccessToken.revoked_at, Grant.revoked_at)
            .join(Grant, Grant.id == AccessToken.grant_id)
            .where(AccessToken.jti == claims["jti"])
        ).first()
        is_revoked = revoked is None or revoked[0] is not None or revoked[1] is not None
        return VerifiedAccessToken(claims, is_revoked)
