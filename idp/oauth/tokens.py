"""Issuing and recording tokens: JWT access tokens (RFC 9068) for parents' grants and for
programs (client credentials), opaque rotating refresh tokens, and revocation of a whole grant
(every token that came from one authorization code).

Access tokens are not stored: each names its grant in a ``gid`` claim (the grant's random
reference, not its row id), and userinfo, introspection and revocation look the grant up by it.
A revoked grant, or an ended session, stops its access tokens as before, without one row per
token issued."""

from flask import current_app
from sqlalchemy import select, update

from idp import clock, crypto, keys, metrics
from idp.keys import jws
from idp.extensions import db
from idp.models import Grant, Organisation
from idp.oauth import records

#: ES256, not RS256: one of these is signed for every token response, and a P-256 signature costs
#: about a tenth of an RSA-2048 one (bench/: RS256 ~3,600/s, ES256 ~26,000/s per core). ID tokens
#: stay RS256 by default (clients choose theirs); relying parties verify both (docs/relying-parties.md).
ACCESS_TOKEN_ALG = "ES256"
#: The ``org`` claim of a client-credentials token whose client is service-wide. Explicit, never
#: absent: a reader that forgets to check must not mistake a missing claim for "everywhere".
ALL_ORGANISATIONS = "*"
#: Where SCIM lives (idp.web.scim); the audience of a ``scim`` token.
SCIM_BASE = "/scim/v2"


def generate_token(grant_type, client, user, scope, grant_reference: str,
                   include_refresh_token=True):
    """A signed JWT access token of the grant ``grant_reference``, and maybe a refresh token
    (called by our grants' ``generate_token``, idp.oauth.grants)."""
    token = _signed(sub=user.subject, aud=client.client_id, client_id=client.client_id,
                    scope=scope or "", org=user.organisation_code, gid=grant_reference)
    if include_refresh_token:
        token["refresh_token"] = crypto.new_token(32)
    return token


def client_audience(scope: str) -> str:
    """RFC 9068 ``aud`` of a client-credentials token: the resource server its scope is for."""
    issuer = current_app.config["IDP_ISSUER"]
    return f"{issuer}{SCIM_BASE}" if "scim" in scope.split() else issuer


def generate_client_token(client, scope: str) -> dict:
    """A JWT access token for a program acting for itself (RFC 6749 4.4, RFC 9068 2.2): ``sub``
    is the client_id (no parent), ``org`` the organisation code it is bound to, or
    ALL_ORGANISATIONS. No grant (``gid``) and no refresh token (RFC 6749 4.4.3): it lives
    IDP_ACCESS_TOKEN_TTL and the client asks again."""
    return _signed(sub=client.client_id, aud=client_audience(scope), client_id=client.client_id,
                   scope=scope, org=organisation_claim(client))


def organisation_claim(client) -> str:
    """The ``org`` of a client-credentials token: the bound organisation's code, or "*"."""
    if client.organisation_id is None:
        return ALL_ORGANISATIONS
    return db.session.scalar(select(Organisation.code).where(Organisation.id == client.organisation_id))


def _signed(**claims) -> dict:
    """The token response for an access token with ``claims`` and ours: iss, iat, exp, jti."""
    config = current_app.config
    now = clock.timestamp()
    ttl = config["IDP_ACCESS_TOKEN_TTL"]
    claims = {"iss": config["IDP_ISSUER"], **claims, "iat": now, "exp": now + ttl,
              "jti": crypto.new_token(16)}
    key = keys.signing_key(ACCESS_TOKEN_ALG)
    header = {"typ": "at+jwt", "alg": ACCESS_TOKEN_ALG, "kid": key.kid}
    return {
        "token_type": "Bearer",
        "access_token": jws.sign(header, claims, key),
        "expires_in": ttl,
        "scope": claims["scope"] or "",
    }


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
