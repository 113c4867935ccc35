"""Passwords: argon2id hashing with configurable cost, and the policy a new password must meet."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

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
        stored_hash = current_app.extensions.setdefault(
            "idp.dummy_hash", hasher.hash(_DUMMY_PASSWORD)
        )
        password = password + "\0"  # never matches the dummy
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def policy_problem(password: str, username: str) -> str | None:
    """A sentence for the parent (Dutch, or their language) saying why ``password`` is not
    allowed, or None when it is fine."""
    minimum = current_app.config["IDP_PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Kies een wachtwoord van minstens %(minimum)s tekens.", minimum=minimum)
    if len(password) > 256:
        return _("Kies een wachtwoord van hoogstens 256 tekens.")
    if username and username.lower() in password.lower():
        return _("Uw wachtwoord mag uw gebruikersnaam niet bevatten.")
    if len(set(password)) < 4:
        return _("Dit wachtwoord is te makkelijk te raden. Kies een ander wachtwoord.")
    return None
