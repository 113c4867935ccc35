"""What the account holder does to get back in: a new password or a new authenticator app with
a link from an e-mail, and linking an app at sign-in when the organisation started asking for a
code after the account was made.

An e-mail alone never takes over an account: a new password still needs the code from the app
(where the organisation uses two-factor and an app is linked), and a new app needs the
password. Those checks count as sign-in attempts (idp.flows.lockout): whoever holds a link gets no
more guesses at the password or the code than at the sign-in page, and the answers follow that
page's rules: a locked account's right answer is refused like a wrong one (the lock e-mail
tells the real owner), and an IP address or organisation with too many failures gets 429.
"""

from sqlalchemy import or_, update

from idp import audit, clock, sessions, throttle
from idp.accounts import links, notices
from idp.auth import passwords, totp
from idp.extensions import db
from idp.flows import lockout
from idp.models import Account, AccountLink
from idp.models.account import ACTIVE

#: The audit log's name for the account holder acting on their own account.
SELF = links.SELF


def needs_code(account: Account) -> bool:
    """A new password is confirmed with the app's code: the organisation uses two-factor and
    an app is linked (without one there is nothing to ask: the app is linked at sign-in)."""
    return account.organisation.requires_2fa and account.totp_secret_encrypted is not None


def throttled(account: Account, ip: str | None) -> bool:
    """Too many failures from this IP address or organisation lately: answer 429 before any
    check (the sign-in page's rule; these pages count their failures there too)."""
    return throttle.source_refusal(ip or "", account.organisation.code) is not None


def _refused(account: Account, ip: str | None, password: str | None = None) -> bool:
    """Locked or waiting (the sign-in page's rule, idp.flows.lockout)."""
    return lockout.refused(account.organisation.code, account.username, account, ip or "",
                           password=password) is not None


def _failed(account: Account, ip: str | None) -> None:
    lockout.failed(account.organisation.code, account.username, account, ip or "")


def check_password(account: Account, password: str, ip: str | None) -> bool:
    """The account's own password, under the sign-in throttling rules."""
    if _refused(account, ip, password):
        return False
    if not passwords.verify_password(account.password_hash, password):
        _failed(account, ip)
        return False
    return True


def check_code(account: Account, code: str, ip: str | None) -> bool:
    """The app's current code (not one used before), under the sign-in throttling rules.
    Records the code's step; the caller commits."""
    if _refused(account, ip):
        return False
    if not totp.accept_for_account(account, totp.decrypt_secret(account.totp_secret_encrypted),
                                   code):
        _failed(account, ip)
        return False
    return True


def reset_password(link: AccountLink, password: str, ip: str | None) -> bool:
    """Use the link to set ``password`` (checked against the policy by the caller); every
    session ends and the account holder is told. False if the link was used meanwhile."""
    password_hash = passwords.hash_password(password)  # before the row lock
    if not links.consume(link):
        db.session.rollback()
        return False
    account = link.account
    account.password_hash = password_hash
    account.touch(clock.timestamp())
    throttle.record_success(account.organisation.code, account.username)
    audit.for_account(SELF, "account.password_reset", account, ip=ip)
    db.session.commit()
    sessions.end_all_for(account.id, sessions.ADMIN)
    notices.send(account, notices.PASSWORD_CHANGED)
    return True


def link_authenticator(link: AccountLink, step: int, ip: str | None) -> bool:
    """Use the link to make its secret the account's app; ``step`` (of the code that proved
    the new app) is the first the replay guard refuses. False if the link was used meanwhile."""
    if not links.consume(link):
        db.session.rollback()
        return False
    account = link.account
    account.totp_secret_encrypted = link.totp_secret_encrypted
    account.totp_last_step = step
    account.touch(clock.timestamp())
    throttle.record_success(account.organisation.code, account.username)
    audit.for_account(SELF, "account.authenticator_linked", account, ip=ip)
    db.session.commit()
    notices.send(account, notices.AUTHENTICATOR_LINKED)
    return True


def enrol_at_sign_in(account: Account, secret_encrypted: bytes, step: int, ip: str | None) -> bool:
    """Link the app the account holder just scanned (after their password at sign-in); only
    while no app is linked (one conditional UPDATE, so of two windows exactly one links its
    app), the account is active and no helpdesk reset is waiting (that link is the way then).
    False if any of that changed since the password was checked."""
    linked = db.session.execute(
        update(Account)
        .where(Account.id == account.id, Account.totp_secret_encrypted.is_(None),
               Account.status == ACTIVE, ~links.app_reset_waiting(Account.id),
               or_(Account.totp_last_step.is_(None), Account.totp_last_step < step))
        .values(totp_secret_encrypted=secret_encrypted, totp_last_step=step,
                version=Account.version + 1, updated_at=clock.timestamp())
    ).rowcount == 1
    if not linked:
        db.session.rollback()
        return False
    audit.for_account(SELF, "account.authenticator_linked", account, ip=ip, at_sign_in=True)
    db.session.commit()
    db.session.refresh(account)
    notices.send(account, notices.AUTHENTICATOR_LINKED)
    return True
