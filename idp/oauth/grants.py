"""The grants, as Authlib storage hooks only: authorization code (+ PKCE, + OpenID Connect),
refresh token (with rotation and reuse detection) and client credentials (a program acting for
itself, RFC 6749 4.4: SCIM provisioning).

Refresh tokens are bound to the sign-in session (unless the client was granted
``offline_access``): a refresh works only while the session lives, and counts as its use.

Codes and refresh tokens are read with their grant and parent in one statement
(idp.oauth.records). Single use is enforced by ``records.consume`` (a conditional UPDATE) in
``authenticate_user``,
which Authlib calls after every other check and before any token is made; a code or refresh
token that is presented again revokes its whole grant (RFC 6749 4.1.2, RFC 9700 4.14.2).
"""

import secrets

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, InvalidScopeError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode as _OpenIDCode
from authlib.oidc.core.grants.code import OpenIDToken
from authlib.oidc.core.grants.util import create_half_hash
from flask import current_app, g

from idp import clock, crypto, keys, sessions
from idp.extensions import db
from idp.keys import jws
from idp.oauth import claims, records, tokens

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
#: RFC 6749 4.4: "The client credentials grant type MUST only be used by confidential clients."
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def _redeem(record, what: str):
    """Consume a code or refresh token for exactly one caller; a loser revokes the grant."""
    if not records.consume(record):
        db.session.rollback()
        tokens.revoke_grant(record.grant_id)
        db.session.commit()
        raise InvalidGrantError(f"The {what} has already been used.")
    if not record.account.is_active:
        raise InvalidGrantError("The account is not active.")
    return record.account


def _not_replayed(record):
    """The record, or None if it was used before: a replay, so its grant is revoked now."""
    if record.used_at is None:
        return record
    tokens.revoke_grant(record.grant_id)
    db.session.commit()
    return None


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) with S256 only, required of every client (RFC 9700 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        if grant.request.payload.data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        # Confidential clients too: a code without its verifier is worthless.
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


class _GrantTokens:
    """Tokens name the grant they belong to (``gid``), so Authlib's generator hook, which is
    not told the code or refresh token, is replaced by a call with it."""

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        origin = self.request.authorization_code or self.request.refresh_token
        return tokens.generate_token(grant_type or self.GRANT_TYPE, self.request.client, user,
                                     scope, records.reference_of(origin.grant),
                                     include_refresh_token)


class AuthorizationCodeGrant(_GrantTokens, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def generate_authorization_code(self):
        """288 random bits (Authlib's 48 letters and digits hold 286), URL-safe: Authlib draws
        each character with a system call of its own, ~48 us of CPU per code against ~1 us."""
        return secrets.token_urlsafe(36)

    def save_authorization_code(self, code, request):
        data = request.payload.data
        records.add_code(
            crypto.token_hash(code), g.signin, request.client.client_id, request.scope,
            request.payload.redirect_uri, (data["code_challenge"], data["code_challenge_method"]),
            data.get("nonce"), current_app.config["IDP_CODE_TTL"])
        db.session.commit()

    def query_authorization_code(self, code, client):
        item = records.code_by_hash(crypto.token_hash(code))
        if item is None or item.client_id != client.client_id or _not_replayed(item) is None:
            return None
        if item.expires_at <= clock.timestamp():
            return None
        # The parent may have logged out (or the session expired) since the code was issued.
        return item if sessions.grant_is_live(item.grant) else None

    def authenticate_user(self, authorization_code):
        return _redeem(authorization_code, "code")

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: ``authenticate_user`` consumed the code already."""


class _IdTokens:
    """How our ID tokens are made, for the code grant and for refresh (OIDC Core 2, 12.2)."""

    def get_client_algorithm(self, client):
        return client.id_token_signed_response_alg

    def resolve_client_private_key(self, client):
        return keys.signing_key(client.id_token_signed_response_alg)

    def encode_id_token(self, token, request):
        """Authlib's ``encode_id_token`` (the same claims, in the same order), signed by
        idp.keys.jws: the key is looked up once, and joserfc's generic encoder is not needed."""
        alg = request.client.id_token_signed_response_alg
        key = self.resolve_client_private_key(request.client)
        header = {"typ": "JWT", "alg": alg, "kid": key.kid}
        claims = self.get_compatible_claims(request)
        if request.authorization_code:
            claims.update(self.get_authorization_code_claims(request.authorization_code))
        access_token = token.get("access_token")
        if access_token:
            claims["at_hash"] = create_half_hash(access_token, alg).decode("utf-8")
        claims.update(self.generate_user_info(request.user, token["scope"]))
        return jws.sign(header, claims, key)

    def get_compatible_claims(self, request):
        """The ID token's own claims; auth_time, nonce, amr, acr come from the code, or on
        refresh from the refresh token: the time of the original sign-in (OIDC Core 12.2)."""
        origin = request.authorization_code or request.refresh_token
        now = clock.timestamp()
        claims = {
            "iss": current_app.config["IDP_ISSUER"],
            "aud": [request.client.client_id],
            "iat": now,
            "exp": now + current_app.config["IDP_ID_TOKEN_TTL"],
            "sid": origin.sid,
        }
        if request.authorization_code is None:
            claims.update(auth_time=origin.auth_time, amr=origin.amr, acr=origin.acr)
        return claims

    def generate_user_info(self, user, scope):
        return claims.user_info(user, scope)


class OpenIDCode(_IdTokens, _OpenIDCode):
    """OpenID Connect on the code grant (OIDC Core 3.1): the ID token."""

    def exists_nonce(self, nonce, request):
        # Nonces are checked by the relying party against its own session (OIDC Core 3.1.3.7);
        # the code's single use already stops replay of a whole response.
        return False


class OpenIDRefresh(_IdTokens, OpenIDToken):
    """OpenID Connect on the refresh grant (OIDC Core 12.2): a new ID token, same sign-in."""


class RefreshTokenGrant(_GrantTokens, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    # Authlib's create_token_response is itself @hooked, so OpenIDRefresh adds the ID token as
    # OpenIDCode does on the code grant. (Hooking it again here made every refresh sign two.)

    def authenticate_refresh_token(self, refresh_token):
        item = records.refresh_token_by_hash(crypto.token_hash(refresh_token))
        if item is None or _not_replayed(item) is None or item.is_expired():
            return None
        if item.grant.revoked_at is not None:
            return None
        return item

    def authenticate_user(self, refresh_token):
        """Called once the client and the scope passed: only a refresh that will be answered
        consumes the token, and then counts as the parent's use of the session."""
        account = _redeem(refresh_token, "refresh token")
        if not refresh_token.grant.offline and sessions.use(refresh_token.sid) is None:
            # The session ended or has just expired; the token's consumption is rolled back
            # with the rest of this refused request.
            raise InvalidGrantError()
        return account

    def revoke_old_credential(self, refresh_token):
        """Nothing to do: ``authenticate_user`` consumed the old refresh token already."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 4.4 for clients registered with ``--grant client_credentials``: a token for the
    client itself (idp.oauth.tokens.generate_client_token), never a refresh token (4.4.3)."""

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self):
        super().validate_token_request()
        # RFC 6749 3.3: no scope asks for the client's registered scope; a scope beyond it is
        # refused rather than quietly narrowed, so the client learns its registration is wrong.
        client, requested = self.request.client, self.request.payload.scope
        granted = client.get_allowed_scope(requested or client.scope)
        if not granted or (requested and set(requested.split()) != set(granted.split())):
            raise InvalidScopeError()

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=False):
        client = self.request.client
        return tokens.generate_client_token(
            client, client.get_allowed_scope(self.request.payload.scope or client.scope))
