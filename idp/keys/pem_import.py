"""Reading a signing key taken over from an older system: a PEM private key, refused with a
clear reason when it is weak or of a kind we do not sign with.

Accepted: RSA of 2048 to 8192 bits with a public exponent of at least 65537 (RS256, RFC 7518
section 3.3 requires 2048 bits), and EC on P-256 (ES256, RFC 7518 section 3.4). Nothing here
ever prints or logs the key.
"""

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey

MAX_PEM_BYTES = 64 * 1024
MIN_RSA_BITS, MAX_RSA_BITS = 2048, 8192
#: NIST SP 800-56B: 2**16 < e < 2**256, odd. Small exponents (e = 3) invite known attacks.
MIN_RSA_EXPONENT, MAX_RSA_EXPONENT = 65537, 2**256


class UnusableKey(ValueError):
    """The PEM cannot become a signing key; the message says why, for the administrator."""


def is_encrypted(pem: bytes) -> bool:
    """Whether the PEM needs a passphrase (PKCS#8 or traditional OpenSSL encryption)."""
    return b"ENCRYPTED" in pem


def read_pem(pem: bytes, alg: str | None = None, passphrase: bytes | None = None):
    """The key as a joserfc private key, and the algorithm it will sign with."""
    if len(pem) > MAX_PEM_BYTES:
        raise UnusableKey("the file is too large for a PEM private key")
    if b"-----BEGIN" not in pem:
        raise UnusableKey("the file is not PEM (no -----BEGIN line)")
    if b"PRIVATE KEY-----" not in pem:
        raise UnusableKey("the file holds no private key (a public key or certificate cannot "
                          "sign; import the private key)")
    try:
        key = serialization.load_pem_private_key(pem, passphrase if is_encrypted(pem) else None)
    except TypeError:
        raise UnusableKey("the key is encrypted and no passphrase was given") from None
    except ValueError:
        if is_encrypted(pem):
            raise UnusableKey("the passphrase is wrong, or the key is damaged") from None
        raise UnusableKey("the PEM private key could not be read (damaged or an unknown "
                          "format)") from None
    except UnsupportedAlgorithm:
        raise UnusableKey("the key's type or encryption is not supported") from None
    found = _algorithm_of(key)
    if alg is not None and alg != found:
        raise UnusableKey(f"this is a key for {found}, not {alg}")
    jose_class = RSAKey if found == "RS256" else ECKey
    return jose_class.import_key(key, {"alg": found, "use": "sig"}), found


def _algorithm_of(key) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        bits, exponent = key.key_size, key.public_key().public_numbers().e
        if bits < MIN_RSA_BITS:
            raise UnusableKey(f"an RSA key of {bits} bits is too weak; at least {MIN_RSA_BITS} "
                              "bits are required")
        if bits > MAX_RSA_BITS:
            raise UnusableKey(f"an RSA key of {bits} bits is not supported (at most "
                              f"{MAX_RSA_BITS})")
        if not (MIN_RSA_EXPONENT <= exponent < MAX_RSA_EXPONENT and exponent % 2):
            raise UnusableKey(f"the RSA public exponent {exponent} is unsafe; use 65537")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise UnusableKey(f"an EC key on curve {key.curve.name} is not supported; ES256 "
                              "needs P-256 (secp256r1)")
        return "ES256"
    kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "")
    raise UnusableKey(f"{kind or 'this'} keys are not supported; import an RSA key (RS256) or "
                      "an EC P-256 key (ES256)")
