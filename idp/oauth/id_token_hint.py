"""``id_token_hint`` (OIDC Core 3.1.2.1, RP-Initiated Logout 1.0 section 2): an ID token we
issued earlier, handed back by a relying party as evidence of who is logging out.

It must carry our signature with one of our published, unrevoked keys (so ``alg: none`` and
foreign keys fail), our issuer, an audience and a subject, and be an ID token (``typ: JWT``,
not an access or logout token). It may have expired: a hint is evidence, not a credential.
"""

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from idp import keys

ALGORITHMS = ["RS256", "ES256"]
LONGEST_HINT = 8192


def verify(hint: str) -> dict | None:
    """The hint's claims with ``aud`` as a list, or None when it is not a valid hint."""
    if not hint or len(hint) > LONGEST_HINT:
        return None
    try:
        token = jwt.decode(hint, keys.verification_keys(), algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError):
        return None
    if token.header.get("typ", "JWT") != "JWT":
        return None
    claims = dict(token.claims)
    audience = claims.get("aud")
    claims["aud"] = [audience] if isinstance(audience, str) else audience
    if (
        claims.get("iss") != current_app.config["IDP_ISSUER"]
        or not isinstance(claims.get("sub"), str)
        or not isinstance(claims["aud"], list)
        or not claims["aud"]
        or not all(isinstance(item, str) for item in claims["aud"])
    ):
        return None
    return claims
