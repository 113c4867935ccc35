"""The activation flow: a staff member invites a parent (``idp.accounts.actions.invite``), the
parent opens the single-use link, sets a password and enrols an authenticator app, confirmed
with a code.

Nothing is saved until every field is right; then one conditional UPDATE consumes the link,
so of two tabs submitting at once exactly one activates the account.
"""

from dataclasses import dataclass
from email.message import Message

from flask import current_app
from sqlalchemy import select, update

from idp import clock, crypto, mail, metrics
from idp.accounts import notices
from idp.auth import passwords, totp
from idp.extensions import db
from idp.models import Account, Activation
from idp.models.account import ACTIVE


def issue_link(account: Account) -> str:
    """A new activation link for ``account`` (returned once, stored as its hash); every earlier
    link dies at once. The caller commits, then sends the welcome e-mail."""
    void_links(account)
    values, token = new_link(account)
    db.session.add(Activation(**values))
    return token


def new_link(account: Account) -> tuple[dict, str]:
    """The column values of an activation link for a stored ``account``, and its token: for an
    account without other links (a new one), or after ``void_links``. The bulk import INSERTs
    many at once."""
    now = clock.timestamp()
    token = crypto.new_token(32)
    values = dict(
        account_id=account.id,
        token_hash=crypto.token_hash(token),
        totp_secret_encrypted=totp.encrypt_secret(totp.new_secret()),
        issued_at=now,
        expires_at=now + current_app.config["IDP_ACTIVATION_TTL"],
    )
    return values, token


def void_links(account: Account, now: int | None = None) -> None:
    """Every unused activation link of ``account`` stops working; the caller commits."""
    db.session.execute(
        update(Activation)
        .where(Activation.account_id == account.id, Activation.used_at.is_(None))
        .values(used_at=clock.timestamp() if now is None else now)
    )


def activation_url(token: str) -> str:
    return f"{current_app.config['IDP_ISSUER']}/activeren/{token}"


def send_welcome(account: Account, token: str) -> None:
    mail.send(welcome(account, token))


def welcome(account: Account, token: str) -> Message:
    """The welcome e-mail with the activation link, to the account's address."""
    config = current_app.config
    return notices.compose(
        account, "welcome", "Welkom, nieuwe gebruiker",
        link=activation_url(token),
        two_factor=account.organisation.requires_2fa or account.is_staff,
        help_url=config["IDP_TWO_FACTOR_HELP_URL"],
        expires_days=config["IDP_ACTIVATION_TTL"] // 86400,
    )


# --- the parent's side ------------------------------------------------------------------------
UNKNOWN, USED, EXPIRED = "unknown", "used", "expired"


@dataclass
class Lookup:
    activation: Activation | None
    problem: str | None


def find(token_hash: str) -> Lookup:
    activation = db.session.scalar(select(Activation).where(Activation.token_hash == token_hash))
    if activation is None:
        return Lookup(None, UNKNOWN)
    if activation.used_at is not None:
        # Used while the account is still inactive: voided by a newer invitation, not activated.
        return Lookup(None, USED if activation.account.is_active else EXPIRED)
    if activation.expires_at <= clock.timestamp():
        return Lookup(None, EXPIRED)
    return Lookup(activation, None)


def mark_opened(activation: Activation) -> None:
    """The first time the link's page is shown: the invitation history staff see. One
    conditional UPDATE, so of two tabs only the first counts."""
    if activation.opened_at is None:
        db.session.execute(update(Activation).where(
            Activation.id == activation.id, Activation.opened_at.is_(None)
        ).values(opened_at=clock.timestamp()))
        db.session.commit()


def pending_secret(activation: Activation) -> str:
    return totp.decrypt_secret(activation.totp_secret_encrypted)


def complete(activation: Activation, password: str, code_step: int | None) -> bool:
    """Consume the link and activate the account; False if another request got there first.

    ``code_step`` is the step of the enrolment code, or None where the organisation signs in
    without a code (then no authenticator is linked).
    """
    password_hash = passwords.hash_password(password)  # before the row lock: keep it short
    now = clock.timestamp()
    consumed = db.session.execute(
        update(Activation)
        .where(
            Activation.id == activation.id,
            Activation.used_at.is_(None),
            Activation.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount == 1
    if not consumed:
        db.session.rollback()
        return False
    account = activation.account
    account.password_hash = password_hash
    if code_step is not None:
        account.totp_secret_encrypted = activation.totp_secret_encrypted
        account.totp_last_step = code_step  # the enrolment code may not sign in as well
    account.status = ACTIVE
    account.activated_at = now
    account.touch(now)
    db.session.commit()
    metrics.ACTIVATIONS.inc()
    return True
