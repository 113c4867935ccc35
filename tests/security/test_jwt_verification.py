"""JWTs that come back to us (access tokens at userinfo and introspection, ``id_token_hint`` at
end_session) count only with a header that says no more than ours: ``alg: none``, HS256 keyed
with our own public key (built here from the JWKS), ``jwk``/``jku``/``x5u``/``x5c`` headers and
any ``crit`` fail, even under our own valid signature."""

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import JWKRegistry, RSAKey

from idp import keys
from idp.oauth.jwt_checks import header_problem
from tests import pages
from tests.security.cases import case
from tests.test_oidc_flow import sign_in_at


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value) -> str:
    return b64(json.dumps(value).encode())


def part(token: str, index: int) -> dict:
    segment = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def rs256(private_key):
    return lambda message: private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def es256(private_key):
    """JWS ES256: the raw r || s of an ECDSA P-256 signature (RFC 7518 3.4), not DER."""
    def sign(message):
        r, s = decode_dss_signature(private_key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return sign


SIGNERS = {"RS256": rs256, "ES256": es256}


def hs256(secret: bytes):
    return lambda message: hmac.new(secret, message, hashlib.sha256).digest()


def forge(header: dict, claims: dict, sign=None) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    return f"{signing_input}.{b64(sign(signing_input.encode())) if sign else ''}"


def forgeries(app, rp, genuine: str) -> dict[str, str]:
    """The genuine token's own claims (so each would be accepted if its header were), under
    every header an attacker might try; ``ours`` is the control: re-signed exactly as we do."""
    header, claims = part(genuine, 0), part(genuine, 1)
    published = next(k for k in rp.jwks().keys if k.kid == header["kid"]).as_dict(private=False)
    public_pem = JWKRegistry.import_key(published).as_pem(private=False)
    attacker = RSAKey.generate_key(2048, private=True)
    with app.app_context():
        ours = SIGNERS[header["alg"]](keys.signing_key(header["alg"]).private_key)
    by_us = lambda **extra: forge({**header, **extra}, claims, ours)  # noqa: E731
    return {
        "ours": by_us(),
        "alg-none": forge({**header, "alg": "none"}, claims),
        "alg-none-signed": forge({**header, "alg": "none"}, claims, ours),
        "alg-None": forge({**header, "alg": "None"}, claims),
        "hs256-keyed-with-our-public-pem": forge(
            {**header, "alg": "HS256"}, claims, hs256(public_pem)),
        "hs256-keyed-with-our-public-pem-no-kid": forge(
            {"alg": "HS256", "typ": header["typ"]}, claims, hs256(public_pem)),
        "hs256-keyed-with-our-published-jwk": forge(
            {**header, "alg": "HS256"}, claims, hs256(json.dumps(published).encode())),
        "jwk-header-with-our-key": by_us(jwk=published),
        "jwk-header-with-the-attackers-key": forge(
            {"alg": "RS256", "typ": header["typ"], "jwk": attacker.as_dict(private=False)},
            claims, rs256(attacker.private_key)),
        "jku-header": by_us(jku="https://evil.test/jwks.json"),
        "x5u-header": by_us(x5u="https://evil.test/cert.pem"),
        "x5c-header": by_us(x5c=[b64(public_pem)]),
        "crit-naming-a-known-header": by_us(crit=["kid"]),  # the JOSE library alone accepts it
        "crit-extension": by_us(crit=["exp"], exp=1),
        "crit-unencoded-payload": by_us(crit=["b64"], b64=False),
    }


@pytest.fixture
def tokens(world):
    parent, rp = world
    return parent, rp, rp.exchange(sign_in_at(rp, parent)["code"]).get_json()


def test_the_forged_headers_are_refused_at_userinfo(app, tokens):
    parent, rp, issued = tokens
    for name, token in forgeries(app, rp, issued["access_token"]).items():
        with case(name):
            response = rp.userinfo(token)
            if name == "ours":
                assert response.status_code == 200
            else:
                assert response.status_code == 401
                assert response.get_json()["error"] == "invalid_token"


def test_the_forged_headers_are_inactive_at_introspection(app, tokens):
    parent, rp, issued = tokens
    for name, token in forgeries(app, rp, issued["access_token"]).items():
        with case(name):
            answer = rp.introspect(token).get_json()
            assert answer == ({**answer, "active": True} if name == "ours" else {"active": False})


def test_the_forged_headers_are_no_hint_at_end_session(app, tokens):
    parent, rp, issued = tokens
    forged = forgeries(app, rp, issued["id_token"])
    control = forged.pop("ours")
    for name, hint in forged.items():
        with case(name):
            page = parent.browser.get(rp.end_session_url(id_token_hint=hint))
            assert page.status_code == 400
            assert "gegevens mee die niet kloppen" in pages.text(page.get_data(as_text=True))
            assert parent.browser.get("/").status_code == 200  # still signed in
    # The control: the same claims under our own header are a hint, and log out at once.
    assert parent.browser.get(rp.end_session_url(id_token_hint=control)).status_code == 200
    assert parent.browser.get("/").status_code == 302


HEADERS = {
    "ours": ({"alg": "RS256", "kid": "k", "typ": "JWT"}, None),
    "es256": ({"alg": "ES256", "kid": "k", "typ": "at+jwt"}, None),
    "no-alg": ({"kid": "k"}, "algorithm not accepted"),
    "alg-none": ({"alg": "none"}, "algorithm not accepted"),
    "hs256": ({"alg": "HS256", "kid": "k"}, "algorithm not accepted"),
    "ps256": ({"alg": "PS256", "kid": "k"}, "algorithm not accepted"),
    "jwk": ({"alg": "RS256", "jwk": {}}, "header parameters not accepted: jwk"),
    "jku": ({"alg": "RS256", "jku": "x"}, "header parameters not accepted: jku"),
    "x5u-x5c": ({"alg": "RS256", "x5u": "x", "x5c": []},
                "header parameters not accepted: x5c, x5u"),
    "crit": ({"alg": "RS256", "crit": ["kid"]}, "header parameters not accepted: crit"),
    "cty": ({"alg": "RS256", "cty": "JWT"}, "header parameters not accepted: cty"),
}


@pytest.mark.parametrize("header, problem", HEADERS.values(), ids=HEADERS.keys())
def test_header_allow_list(header, problem):
    assert header_problem(f"{b64json(header)}.e30.c2ln", ["RS256", "ES256"]) == problem


@pytest.mark.parametrize("token, problem", [
    ("a.b", "not a compact JWS"),
    ("a.b.c.d.e", "not a compact JWS"),  # a JWE: we never encrypt to ourselves
    ("!!!.e30.c2ln", "unreadable header"),
    (b64(b"\xff\xfe") + ".e30.c2ln", "unreadable header"),
    (b64(b"{not json") + ".e30.c2ln", "unreadable header"),
    (b64json(["alg", "RS256"]) + ".e30.c2ln", "header is not an object"),
], ids=["two-parts", "five-parts", "not-base64", "not-utf8", "not-json", "a-list"])
def test_unreadable_headers(token, problem):
    assert header_problem(token, ["RS256"]) == problem

