"""Issuing and recording tokens: JWT access tokens (RFC 9068), opaque rotating refresh tokens,
and revocation of a whole grant (every token that came from one authorization code)."""

import base64
import json

from flask import current_app
from joserfc import jwt
from sqlalchemy import insert, update

from idp import clock, crypto, keys, metrics
from idp.extensions import db
from idp.models import AccessToken, Grant, RefreshToken

#: ES256, not RS256: one of these is signed for every token response, and a P-256 signature costs
#: about a tenth of an RSA-2048 one (bench/: RS256 ~3,600/s, ES256 ~26,000/s per core). ID tokens
#: stay RS256 by default (clients choose theirs); relying parties verify both (README).
ACCESS_TOKEN_ALG = "ES256"


def generate_token(grant_type, client, user=None, scope=None, expires_in=None,
                   include_refresh_token=True):
    """Authlib's token generator hook: a signed JWT access token and maybe a refresh token."""
    config = current_app.config
    now = clock.timestamp()
    ttl = config["IDP_ACCESS_TOKEN_TTL"]
    claims = {
        "iss": config["IDP_ISSUER"],
        "sub": user.subject,
        "aud": client.client_id,
        "client_id": client.client_id,
        "scope": scope or "",
        "org": user.organisation.code,
        "iat": now,
        "exp": now + ttl,
        "jti": crypto.new_token(16),
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


def _own_claims(token: str) -> dict:
    """Claims of a JWT this process has just signed (no need to verify our own output)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def save_token(token: dict, request) -> None:
    """Authlib's save hook: record the access token's jti and the hashed refresh token.

    Not committed here: the token view commits once, after the ID token is made, so the code or
    refresh token consumed, the tokens recorded and the response all belong to one transaction,
    and nothing loaded for the request is expired (and read again) by a commit halfway.

    Plain INSERTs (SQLAlchemy Core), not ORM objects: nothing reads these rows back in this
    request, and the ORM's unit of work cost more than the statements themselves."""
    origin = request.authorization_code or request.refresh_token
    now = clock.timestamp()
    claims = _own_claims(token["access_token"])
    db.session.execute(insert(AccessToken.__table__).values(
        jti=claims["jti"], grant_id=origin.grant_id, expires_at=claims["exp"]))
    if "refresh_token" in token:
        db.session.execute(
            insert(RefreshToken.__table__).values(
                token_hash=crypto.token_hash(token["refresh_token"]),
                grant_id=origin.grant_id,
                client_id=request.client.client_id,
                account_id=origin.account_id,
                scope=token["scope"],
                sid=origin.sid,
                auth_time=origin.auth_time,
                amr=origin.amr,
                acr=origin.acr,
                issued_at=now,
                expires_at=now + current_app.config["IDP_REFRESH_TOKEN_TTL"],
            )
        )
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


def consume(model, record_id: int) -> bool:
    """Mark a single-use record used; True for exactly one caller, however many race."""
    result = db.session.execute(
        update(model)
        .where(model.id == record_id, model.used_at.is_(None))
        .values(used_at=clock.timestamp())
        # Nobody reads used_at of the loaded record afterwards: skip the ORM's evaluation of
        # this WHERE clause against every object in the session (a measurable share of a grant).
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
