"""Verifying a JWT that comes back to us (an access token at userinfo and introspection, an
``id_token_hint`` at end_session): it must be one we signed, so it may say no more than we do.

Before any key is looked at, the header must hold only what our own tokens carry (``alg``,
``kid``, ``typ``) with ``alg`` from the caller's explicit allow-list. So ``alg: none``, HS256
(keyed with our public key, the classic algorithm confusion), ``jwk``/``jku``/``x5u``/``x5c``
(a key or a key's address chosen by the token) and any ``crit`` extension all fail, whatever
the JOSE library would make of them (RFC 8725 2.1, 3.1; RFC 7515 4.1.11; OWASP ASVS 5 V9.1.2,
V9.1.3). Only then is the signature checked, against our published keys.
"""

import base64
import binascii
import json

from joserfc import jwt
from joserfc.errors import JoseError

from idp import keys

#: The only header parameters our tokens carry (idp.oauth.tokens, idp.oauth.grants).
HEADER_PARAMETERS = {"alg", "kid", "typ"}
#: Longer than any token we issue, several times over.
LONGEST_JWT = 8192


def header_problem(token_string: str, algorithms: list[str]) -> str | None:
    """Why the token's header is unacceptable, or None. The header is not yet authenticated:
    this decides whether the token is worth verifying at all."""
    parts = token_string.split(".")
    if len(parts) != 3:
        return "not a compact JWS"
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return "unreadable header"
    if not isinstance(header, dict):
        return "header is not an object"
    extra = set(header) - HEADER_PARAMETERS
    if extra:
        return f"header parameters not accepted: {', '.join(sorted(extra))}"
    if header.get("alg") not in algorithms:
        return "algorithm not accepted"
    return None


def verified(token_string, algorithms: list[str]):
    """The token (joserfc ``Token``: header and claims) when its header is acceptable and its
    signature is ours, else None. Claims are the caller's to check."""
    if not isinstance(token_string, str) or not token_string or len(token_string) > LONGEST_JWT:
        return None
    if header_problem(token_string, algorithms) is not None:
        return None
    try:
        return jwt.decode(token_string, keys.verification_keys(), algorithms=algorithms)
    except (JoseError, ValueError, TypeError):
        return None
