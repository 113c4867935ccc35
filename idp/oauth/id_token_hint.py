"""``id_token_hint`` (OIDC Core 3.1.2.1, RP-Initiated Logout 1.0 section 2): an ID token we
issued earlier, handed back by a relying party as evidence of who is logging out.

It must carry our signature with one of our published, unrevoked keys under a header that says
no more than ours (idp.oauth.jwt_checks: ``alg: none``, HS256, key headers and ``crit`` fail),
our issuer, an audience and a subject, and be an ID token (``typ: JWT``, not an access or
logout token). It may have expired: a hint is evidence, not a credential.
"""

from flask import current_app

from idp.oauth import jwt_checks

ALGORITHMS = ["RS256", "ES256"]
LONGEST_HINT = jwt_checks.LONGEST_JWT


def verify(hint: str) -> dict | None:
    """The hint's claims with ``aud`` as a list, or None when it is not a valid hint."""
    token = jwt_checks.verified(hint, ALGORITHMS)
    if token is None:
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
