"""Token revocation (RFC 7009) for refresh tokens and access tokens.

Revoking either revokes the whole grant: RFC 7009 section 2.1 says revoking a refresh token
SHOULD also invalidate the access tokens of the same grant, and an access token revoked by its
own client means that client is done with the grant.
"""

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from idp import crypto
from idp.extensions import db
from idp.oauth import records, tokens
from idp.oauth.bearer import verify_access_token
from idp.oauth.grants import CLIENT_AUTH_METHODS


class _Revocable:
    def __init__(self, client_id: str, grant_id: int):
        self.client_id = client_id
        self.grant_id = grant_id

    def check_client(self, client):
        return client.client_id == self.client_id


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        # The hint is only a hint (RFC 7009 2.1): look in both places.
        refresh = records.refresh_token_by_hash(crypto.token_hash(token_string))
        if refresh is not None:
            return _Revocable(refresh.client_id, refresh.grant_id)
        claims = verify_access_token(token_string)
        if claims is None:
            return None
        found = records.grant_by_reference(claims["gid"])
        return None if found is None else _Revocable(claims["client_id"], found[0].id)

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # RFC 7009 2.2: another client's token is, for this client, an invalid token:
        # answer 200 and change nothing.
        return token if token is not None and token.check_client(client) else None

    def revoke_token(self, token, request):
        tokens.revoke_grant(token.grant_id)
        db.session.commit()
