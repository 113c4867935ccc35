"""The dossier service as a resource server: it verifies our access tokens with joserfc against
a JWKS it caches exactly as docs/relying-parties.md tells relying parties to.

It keeps the JWKS for the response's ``max-age``; on a ``kid`` it does not know it fetches the
JWKS again, at most once per ``refetch_interval`` seconds, and otherwise refuses the token.
Every fetch is counted, so a test can show a routine rotation needed none.
"""

from joserfc import jws, jwt
from joserfc.jwk import KeySet

from idp import clock

ALGORITHMS = ["RS256", "ES256"]


class UnknownKid(Exception):
    pass


class DossierService:
    def __init__(self, http, issuer="http://idp.test", audience=None, refetch_interval=30):
        self.http, self.issuer, self.audience = http, issuer, audience
        self.refetch_interval = refetch_interval
        discovery = http.get(f"{issuer}/.well-known/openid-configuration").get_json()
        self.jwks_uri = discovery["jwks_uri"]
        self.document = {"keys": []}
        self.fresh_until = float("-inf")
        self.fetched_at: list[float] = []

    def fetch(self) -> None:
        response = self.http.get(self.jwks_uri)
        assert response.status_code == 200
        self.document = response.get_json()
        self.fresh_until = clock.now() + (response.cache_control.max_age or 0)
        self.fetched_at.append(clock.now())

    def cached_kids(self) -> set[str]:
        return {key["kid"] for key in self.document["keys"]}

    def kids(self) -> set[str]:
        """The kids it trusts now (fetching first if its copy is stale)."""
        if clock.now() >= self.fresh_until:
            self.fetch()
        return self.cached_kids()

    def verify(self, token: str, typ: str = "at+jwt") -> dict:
        """The token's claims; raises on anything it would refuse."""
        kid = jws.extract_compact(token.encode()).headers().get("kid")
        if kid not in self.kids() and clock.now() - self.fetched_at[-1] >= self.refetch_interval:
            self.fetch()
        if kid not in self.cached_kids():
            raise UnknownKid(kid)
        decoded = jwt.decode(token, KeySet.import_key_set(self.document), algorithms=ALGORITHMS)
        claims = decoded.claims
        assert decoded.header["typ"] == typ
        assert claims["iss"] == self.issuer
        assert self.audience is None or claims["aud"] in (self.audience, [self.audience])
        if claims["exp"] <= clock.timestamp():
            raise ValueError("expired")
        return claims
