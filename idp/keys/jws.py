"""Compact JWS signing (RFC 7515 7.1) of our own tokens with `cryptography` directly: the ID
token (RS256, or the client's choice of ES256) and the access token (ES256, RFC 9068).

Why not joserfc's ``jwt.encode``: one of each is signed per token response, and its registry
and header checks, key lookups and generic serialization cost about as much CPU as the
signatures themselves (cProfile of the token view). The output is what joserfc makes for the
same header, claims and key (tests/test_jws.py: byte for byte for RS256, whose signatures are
deterministic), and it is verified with the published JWKS like any other token. Only our own
keys (idp.keys.signing_key) and the two algorithms above are ever used here; verification
stays with joserfc.
"""

import base64
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

#: RFC 7518 3.4: an ES256 signature is R and S, 32 octets each, not DER.
_P256_OCTETS = 32


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _rs256(key, signing_input: bytes) -> bytes:
    """RFC 7518 3.3: RSASSA-PKCS1-v1_5 with SHA-256."""
    return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def _es256(key, signing_input: bytes) -> bytes:
    """RFC 7518 3.4: ECDSA P-256 with SHA-256."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("ES256 needs a P-256 key")
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(_P256_OCTETS, "big") + s.to_bytes(_P256_OCTETS, "big")


_SIGNERS = {"RS256": _rs256, "ES256": _es256}


def sign(header: dict, claims: dict, key) -> str:
    """The compact JWS of ``claims`` under ``header`` (which names ``alg``), signed with our
    joserfc private ``key``. JSON as joserfc writes it: no spaces; the header ASCII-only, the
    claims UTF-8."""
    signer = _SIGNERS[header["alg"]]  # a KeyError, never a token signed some other way
    signing_input = (
        _b64(json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii"))
        + b"."
        + _b64(json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode())
    )
    signature = signer(key.private_key, signing_input)
    return (signing_input + b"." + _b64(signature)).decode("ascii")
