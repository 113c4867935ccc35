"""Passwords: argon2id hashing with configurable cost; the policy is in password_policy."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Hashed for unknown usernames, so that a miss costs as much as a hit.
_DUMMY_PASSWORD = "not-a-real-password-used-for-timing-only"


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("idp.password_hasher")
    if hasher is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["IDP_ARGON2_TIME_COST"],
            memory_cost=config["IDP_ARGON2_MEMORY_KIB"],
            parallelism=config["IDP_ARGON2_PARALLELISM"],
        )
        current_app.extensions["idp.password_hasher"] = hasher
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; a missing hash still costs one verification."""
    hasher = _hasher()
    if stored_hash is None:
        stored_hash = current_app.extensions.get("idp.dummy_hash")
        if stored_hash is None:  # made once: hashing it per call would double the cost
            stored_hash = current_app.extensions["idp.dummy_hash"] = hasher.hash(_DUMMY_PASSWORD)
        password = password + "\0"  # never matches the dummy
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than configured now (raised costs):
    the sign-in that just verified the password stores a new hash."""
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False
