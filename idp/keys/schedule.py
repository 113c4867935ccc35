"""When a signing key may start signing, and when a retired one leaves the JWKS: derived from
the configured lifetimes, never guessed. Pure functions of the settings and the key's times.

Two caches stand between a change in the database and a relying party's verifier:

* every worker re-reads the keys at least every ``IDP_KEYS_CACHE_TTL`` seconds (idp.keys.store);
* a relying party may keep the JWKS for its ``max-age``, which is the same number.

So a key stored as ``next`` at time *t* is in every JWKS a relying party can hold from
*t + 2 × cache TTL*: only then may it sign (``ready_at``). And a worker may go on signing with
a key for one cache TTL after it was retired, and such a token lives as long as the longest
token lifetime, so a retired key stays published until
*retired_at + longest token lifetime + cache TTL* (``removed_at``).
"""

from idp.models.signing_key import ACTIVE, NEXT, RETIRED, REVOKED, SigningKey

#: Every lifetime of a token we sign with these keys.
SIGNED_TOKEN_TTLS = ("IDP_ID_TOKEN_TTL", "IDP_ACCESS_TOKEN_TTL", "IDP_LOGOUT_TOKEN_TTL")


def cache_ttl(config) -> int:
    """How long a worker keeps the keys, and the JWKS ``max-age``."""
    return int(config["IDP_KEYS_CACHE_TTL"])


def publication_lead(config) -> int:
    """How long a next key must have been published before it may sign."""
    return 2 * cache_ttl(config)


def longest_token_ttl(config) -> int:
    return max(int(config[name]) for name in SIGNED_TOKEN_TTLS)


def retention(config) -> int:
    """How long a retired key stays published after it stopped signing."""
    return longest_token_ttl(config) + cache_ttl(config)


def ready_at(key: SigningKey, config) -> int | None:
    """When a next key may become active (None for keys in any other state)."""
    return key.created_at + publication_lead(config) if key.state == NEXT else None


def removed_at(key: SigningKey, config) -> int | None:
    """When the key leaves (or left) the JWKS; None while it has no end yet."""
    if key.state == REVOKED:
        return key.revoked_at
    if key.state == RETIRED:
        # A key retired without ever being active (a next key replaced by an import) has
        # signed nothing, so nothing has to outlive it.
        return key.retired_at + (retention(config) if key.activated_at is not None else 0)
    return None


def is_published(key: SigningKey, config, now: float) -> bool:
    if key.state in (NEXT, ACTIVE):
        return True
    end = removed_at(key, config)
    return key.state == RETIRED and now < end


def age(key: SigningKey, now: float) -> float:
    """How long an active key has been signing."""
    return now - (key.activated_at if key.activated_at is not None else key.created_at)
