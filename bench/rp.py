"""A relying party (the dossier service) verifying our access tokens in-process, as docs/relying-parties.md's
token contract tells it to: the JWKS fetched once and cached, an explicit algorithm list, then
``typ``, ``iss``, ``aud`` and ``exp``. Runs in the load generator's process (core 1)."""

import json
import time
import urllib.request

from joserfc import jwt
from joserfc.jwk import KeySet

from bench.limits import per_second


def verify_rate(server, quick: bool = False) -> dict:
    base = f"http://{server.host}:{server.port}"
    with urllib.request.urlopen(base + "/jwks") as response:
        keyset = KeySet.import_key_set(json.load(response))
    token = server.access_tokens[-1]
    issuer, audience = base, server.client["client_id"]

    def verify():
        decoded = jwt.decode(token, keyset, algorithms=["RS256", "ES256"])
        claims = decoded.claims
        if (decoded.header.get("typ") != "at+jwt" or claims["iss"] != issuer
                or claims["aud"] != audience or claims["exp"] <= time.time()):
            raise AssertionError("the relying party refused our access token")

    alg = jwt.decode(token, keyset, algorithms=["RS256", "ES256"]).header["alg"]
    seconds, repeats = (0.2, 1) if quick else (0.7, 5)
    return {"alg": alg, **per_second(verify, seconds, repeats)}
