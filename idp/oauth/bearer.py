"""Bearer access tokens we receive (RFC 6750) at our own resource endpoints, i.e. userinfo.

The token must be a JWT we signed: a header that says no more than ours, verified against our
published keys with an explicit algorithm list (idp.oauth.jwt_checks), ``typ: at+jwt``, our
issuer, not expired, its grant (the ``gid`` claim) not revoked, and the sign-in session it is
bound to still live.
"""

from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import current_app
from sqlalchemy import select

from idp import clock, sessions
from idp.extensions import db
from idp.models import Client
from idp.oauth import jwt_checks, records

ALGORITHMS = ["RS256", "ES256"]


class VerifiedAccessToken:
    def __init__(self, claims: dict, account: records.Parent | None):
        self.claims = claims
        self.scope = claims.get("scope", "")
        self.account = account

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return self.claims["exp"] <= clock.timestamp()

    def is_revoked(self):
        return self.account is None

    def get_client(self):
        return db.session.scalar(select(Client).where(Client.client_id == self.claims["client_id"]))

    def get_user(self):
        return self.account


def live_account(claims: dict) -> records.Parent | None:
    """The parent a verified access token was issued to, if its grant (and session) lives."""
    found = records.grant_by_reference(claims["gid"])
    if found is None:
        return None
    grant, account = found
    if account.subject != claims["sub"] or not sessions.grant_is_live(grant):
        return None
    return account


def verify_access_token(token_string: str) -> dict | None:
    """The claims of a valid access token we issued to a parent's grant, or None."""
    return verified_access_token(token_string, ("sub", "client_id", "jti", "gid"))


def verified_access_token(token_string: str, required=("sub", "client_id", "jti")) -> dict | None:
    """The claims of an access token we signed (RFC 9068: ``typ`` at+jwt, our issuer), with
    the ``required`` string claims and a whole-number ``exp``, or None. Expiry and what the
    token is for are the caller's to check; a client-credentials token has no ``gid``."""
    token = jwt_checks.verified(token_string, ALGORITHMS)
    if token is None:
        return None
    claims = token.claims
    if token.header.get("typ") != "at+jwt" or claims.get("iss") != current_app.config["IDP_ISSUER"]:
        return None
    if not all(isinstance(claims.get(name), str) for name in required):
        return None
    if not isinstance(claims.get("exp"), int) or isinstance(claims.get("exp"), bool):
        return None
    return claims


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        claims = verify_access_token(token_string)
        if claims is None:
            return None
        return VerifiedAccessToken(claims, live_account(claims))
