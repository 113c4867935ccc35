"""Issuing and recording tokens: JWT access tokens (RFC 9068), opaque rotating refresh tokens,
and revocation of a whole grant (every token that came from one authorization code).

Access tokens are not stored: each names its grant in a ``gid`` claim (the grant's random
reference, not its row id), and userinfo, introspection and revocation look the grant up by it.
A revoked grant, or an ended session, stops its access tokens as before, without one row per
token issued."""

from flask import current_app
from joserfc import jwt
from sqlalchemy import update

from idp import clock, crypto, keys, metrics
from idp.extensions import db
from idp.models import Grant
from idp.oauth import records

#: ES256, not RS256: one of these is signed for every token response, and a P-256 signature costs
#: about a tenth of an RSA-2048 one (bench/: RS256 ~3,600/s, ES256 ~26,000/s per core). ID tokens
#: stay RS256 by default (clients choose theirs); relying parties verify both (docs/relying-parties.md).
ACCESS_TOKEN_ALG = "ES256"


def generate_token(grant_type, client, user, scope, grant_reference: str,
                   include_refresh_token=True):
    """A signed JWT access token of the grant ``grant_reference``, and maybe a refresh token
    (called by our grants' ``generate_token``, idp.oauth.grants)."""
    config = current_app.config
    now = clock.timestamp()
    ttl = config["IDP_ACCESS_TOKEN_TTL"]
    claims = {
        "iss": config["IDP_ISSUER"],
        "sub": user.subject,
        "aud": client.client_id,
        "client_id": client.client_id,
        "scope": scope or "",
        "org": user.organisation_code,
        "iat": now,
        "exp": now + ttl,
        "jti": crypto.new_token(16),
        "gid": grant_reference,
    }
    key = keys.signing_key(ACCESS_TOKEN_ALG)
    header = {"typ": "at+jwt", "alg": ACCESS_TOKEN_ALG, "kid": key.kid}
    token = {
        "token_type": "Bearer",
        "access_token": jwt.encode(header, claims, key, algorithms=[ACCESS_TOKEN_ALG]),
        "expires_in": ttl,
        "scope": scope or "",
    }
    if include_refresh_token:
        token["refresh_token"] = crypto.new_token(32)
    return token


def save_token(token: dict, request) -> None:
    """Authlib's save hook: record the hashed refresh token (access tokens are not stored).

    Not committed here: the token view commits once, after the ID token is made, so the code or
    refresh token consumed, the token recorded and the response all belong to one transaction."""
    if "refresh_token" in token:
        origin = request.authorization_code or request.refresh_token
        records.add_refresh_token(crypto.token_hash(token["refresh_token"]), origin,
                                  token["scope"], current_app.config["IDP_REFRESH_TOKEN_TTL"])
    metrics.TOKENS_ISSUED.labels(request.payload.grant_type or "unknown").inc()


def revoke_grant(grant_id: int) -> None:
    """Revoke every token of the grant; the caller commits."""
    db.session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.revoked_at.is_(None))
        .values(revoked_at=clock.timestamp())
    )


def revoke_session_grants(sid: str) -> None:
    """The sign-in session ``sid`` ended: revoke every grant bound to it; the caller commits."""
    db.session.execute(
        update(Grant)
        .where(Grant.sid == sid, Grant.offline.is_(False), Grant.revoked_at.is_(None))
        .values(revoked_at=clock.timestamp())
    )
