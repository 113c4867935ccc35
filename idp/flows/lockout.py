"""The sign-in rules for one checked password or code, and what a parent sees of a lockout
(counting: idp.throttle; unlocking: idp.accounts.actions).

Every place that checks an account's password or code (the sign-in page, the staff code step,
the e-mailed links) asks ``refused`` first and reports a wrong answer with ``failed``, so
whoever holds a browser or a link gets no more guesses than at the sign-in page.

The parent gets an e-mail when the account is locked for 15 minutes (once, at the failure that
locks it) and when it is locked until the helpdesk unlocks it. The page never says so: a locked
account answers exactly like a wrong password.
"""

import logging

from flask import current_app
from sqlalchemy import update

from idp import clock, mail, throttle
from idp.accounts import notices
from idp.auth import passwords
from idp.extensions import db
from idp.models import Account

log = logging.getLogger(__name__)


def refused(org_code: str, username: str, account: Account | None, ip: str, *,
            password: str | None = None, failures: int | None = None) -> str | None:
    """Why this attempt may not be checked at all (throttle.LOCKED, DELAYED), else None. A
    refused attempt is answered like a wrong one: it costs as long (a hash, where ``password``
    is what would be checked; no oracle) and counts against the client IP and organisation.
    ``failures``: the account's failures as the sign-in read them (throttle.sign_in_counts)."""
    refusal = throttle.account_refusal(org_code, username, account, failures)
    if refusal:
        if password is not None:
            passwords.verify_password(None, password)
        throttle.record_source_failure(ip, org_code)
    return refusal


def failed(org_code: str, username: str, account: Account | None, ip: str) -> None:
    """Count a wrong password or code: for the account as typed (an unknown one too), the
    client IP and the organisation; tell the holder of an active account it is locked."""
    failures = throttle.record_failure(org_code, username)
    throttle.record_source_failure(ip, org_code)
    if account is not None and account.is_active:
        notify(account, failures)


def notify(account: Account, failures: int) -> None:
    """After a failed sign-in: tell the parent if this failure locked the account."""
    config = current_app.config
    if failures >= config["IDP_LOCKOUT_PERMANENT_AFTER"]:
        locked = db.session.execute(
            update(Account)
            .where(Account.id == account.id, Account.locked_at.is_(None))
            .values(locked_at=clock.timestamp())
        ).rowcount
        db.session.commit()
        if locked:  # exactly one request makes this change, so one e-mail
            log.warning("account %s locked until the helpdesk unlocks it", account.id)
            _send(account, permanent=True)
    elif failures == config["IDP_LOCKOUT_AFTER"]:
        log.warning("account %s locked for %s s", account.id, config["IDP_LOCKOUT_SECONDS"])
        _send(account, permanent=False)


def _send(account: Account, permanent: bool) -> None:
    config = current_app.config
    mail.send(notices.compose(
        account, "locked", "Uw account is geblokkeerd",
        permanent=permanent, minutes=config["IDP_LOCKOUT_SECONDS"] // 60,
        attempts=config["IDP_LOCKOUT_PERMANENT_AFTER" if permanent else "IDP_LOCKOUT_AFTER"],
        helpdesk_url=config["IDP_HELPDESK_URL"],
    ))
