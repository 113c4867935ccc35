"""Our own JWS signer (idp.keys.jws) makes the tokens joserfc made: the same header and claims,
signatures that joserfc and an independent check (plain `cryptography` against the published
JWKS) accept, byte for byte the same RS256 token (its signatures are deterministic). Through
the token endpoint, the ID token is the one Authlib's own ``encode_id_token`` makes."""

import base64
import json

import pytest
from authlib.oidc.core.grants.code import OpenIDToken
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import keys
from idp.keys import jws
from idp.oauth.grants import OpenIDCode, OpenIDRefresh
from tests.test_oidc_flow import sign_in_at

CLAIMS = {"iss": "http://idp.test", "sub": "abc", "aud": ["rp"], "iat": 1, "exp": 2,
          "name": "Ouder Één", "amr": ["pwd", "otp"], "email_verified": True}


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def public_jwks(key) -> dict:
    return {"keys": [{**key.as_dict(private=False), "kid": key.kid}]}


def independently_verified(token: str, jwks: dict) -> tuple[dict, dict]:
    """RFC 7515 5.2 by hand, with `cryptography` and the JWK's own members: not joserfc."""
    header_segment, payload_segment, signature_segment = token.split(".")
    header = json.loads(_unb64(header_segment))
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    signing_input = f"{header_segment}.{payload_segment}".encode()
    signature = _unb64(signature_segment)
    number = lambda member: int.from_bytes(_unb64(jwk[member]), "big")  # noqa: E731
    if header["alg"] == "RS256":
        public = rsa.RSAPublicNumbers(number("e"), number("n")).public_key()
        public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert header["alg"] == "ES256" and jwk["crv"] == "P-256" and len(signature) == 64
        public = ec.EllipticCurvePublicNumbers(number("x"), number("y"), ec.SECP256R1()).public_key()
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                   int.from_bytes(signature[32:], "big"))
        public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    return header, json.loads(_unb64(payload_segment))


@pytest.mark.parametrize("alg, typ", [("RS256", "JWT"), ("ES256", "at+jwt")])
def test_a_token_is_the_one_joserfc_makes(alg, typ):
    key = keys.generate(alg)
    key_set = KeySet([key])
    header = {"typ": typ, "alg": alg, "kid": key.kid}
    ours = jws.sign(header, dict(CLAIMS), key)
    theirs = jwt.encode(header, dict(CLAIMS), key, algorithms=[alg])
    # Header and claims segments are the same bytes; RS256 signatures are deterministic.
    assert ours.rsplit(".", 1)[0] == theirs.rsplit(".", 1)[0]
    if alg == "RS256":
        assert ours == theirs
    decoded = jwt.decode(ours, key_set, algorithms=[alg])
    assert decoded.header == header and decoded.claims == CLAIMS
    assert independently_verified(ours, public_jwks(key)) == (header, CLAIMS)


def test_a_tampered_token_fails_the_independent_check():
    key = keys.generate("ES256")
    token = jws.sign({"typ": "at+jwt", "alg": "ES256", "kid": key.kid}, dict(CLAIMS), key)
    head, payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**CLAIMS, "sub": "other"}).encode()).rstrip(b"=")
    with pytest.raises(InvalidSignature):
        independently_verified(f"{head}.{forged.decode()}.{signature}", public_jwks(key))


@pytest.mark.parametrize("alg, wrong", [("ES256", "RS256"), ("RS256", "ES256")])
def test_a_key_of_another_algorithm_signs_nothing(alg, wrong):
    key = keys.generate(wrong)
    with pytest.raises(Exception):
        jws.sign({"typ": "JWT", "alg": alg, "kid": key.kid}, dict(CLAIMS), key)
    with pytest.raises(KeyError):
        jws.sign({"typ": "JWT", "alg": "none", "kid": key.kid}, dict(CLAIMS), key)


def test_the_token_endpoints_tokens_are_authlibs_and_verify_against_the_jwks(
        world, monkeypatch):
    """Each ID token (code grant, refresh grant) is compared with the one Authlib's own
    ``encode_id_token`` makes of the same request (the clock is frozen); both tokens of each
    response verify against the published JWKS by the independent check."""
    parent, rp = world
    compared = []
    for grant in (OpenIDCode, OpenIDRefresh):
        ours = grant.encode_id_token

        def both(self, token, request, _ours=ours):
            made = _ours(self, token, request)
            key = self.resolve_client_private_key(request.client)
            header = {"typ": "JWT", "alg": request.client.id_token_signed_response_alg,
                      "kid": key.kid}
            with monkeypatch.context() as patch:  # the hook Authlib's version asks for
                patch.setattr(type(self), "get_encode_header", lambda *_: header, raising=False)
                authlib_made = OpenIDToken.encode_id_token(self, token, request)
            compared.append(made == authlib_made)
            return made

        monkeypatch.setattr(grant, "encode_id_token", both)

    code = sign_in_at(rp, parent)["code"]
    first = rp.exchange(code).get_json()
    second = rp.refresh(first["refresh_token"]).get_json()
    assert compared == [True, True]

    jwks = rp.http.get("/jwks").get_json()
    for response in (first, second):
        id_header, id_claims = independently_verified(response["id_token"], jwks)
        assert id_header["typ"] == "JWT" and id_header["alg"] == "RS256"
        at_header, at_claims = independently_verified(response["access_token"], jwks)
        assert at_header["typ"] == "at+jwt" and at_header["alg"] == "ES256"
        assert at_claims["client_id"] == rp.client_id and at_claims["sub"] == id_claims["sub"]
    rp.validate_id_token(first["id_token"], first["access_token"])  # and joserfc's view
