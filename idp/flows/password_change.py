"""Changing the password on the account page: the current password (and the code from the app
where the organisation asks for one), then the new one, which follows the password policy.

Proving the current password and code again counts like a sign-in (idp.throttle, as in
idp.accounts.recovery): a browser left signed in cannot be used to guess them. Afterwards every other
session of the account ends, with back-channel logouts; the browser that made the change stays
signed in. Unused links to reset the password die, and the account holder gets an e-mail.
"""

import logging

from idp import audit, clock, sessions, throttle
from idp.accounts import links, notices, recovery
from idp.auth import password_policy, passwords, totp
from idp.extensions import db
from idp.flows import lockout
from idp.models import Account
from idp.models.account_link import PASSWORD_RESET

log = logging.getLogger(__name__)

#: What went wrong: the current credentials, or the new password (then the policy's sentence).
WRONG_CURRENT = "wrong_current"


def change(account: Account, current: str, code: str, new: str, keep_sid: str,
           ip: str) -> str | None:
    """Change the password; None when done, else WRONG_CURRENT or the policy's sentence."""
    problem = password_policy.problem(new, account)
    if problem:  # before the code is checked: a refused new password must not use it up
        return problem
    org_code, username = account.organisation.code, account.username
    # One throttling check for the password and the code together (recovery's checks each
    # claim a turn: two in a row would refuse the second after a delay).
    if throttle.account_refusal(org_code, username, account):
        passwords.verify_password(None, current)  # as slow as a wrong password
        log.info("password change refused: account throttled")
        return WRONG_CURRENT
    if not _proves_current(account, current, code):
        db.session.rollback()
        lockout.notify(account, throttle.record_failure(org_code, username))
        log.info("password change refused: wrong current password or code (account %s)",
                 account.id)
        return WRONG_CURRENT
    throttle.record_success(org_code, username)
    now = clock.timestamp()
    account.password_hash = passwords.hash_password(new)
    account.touch(now)
    links.void(account, now, PASSWORD_RESET)  # an e-mailed link may not choose another one
    audit.for_account(links.SELF, "account.password_change", account, ip=ip)
    db.session.commit()
    ended = sessions.end_all_for(account.id, sessions.ADMIN, keep=keep_sid)
    log.info("password changed by the account holder; %d other session(s) ended", ended)
    notices.send(account, notices.PASSWORD_CHANGED_BY_HOLDER)
    return None


def _proves_current(account: Account, current: str, code: str) -> bool:
    password_ok = passwords.verify_password(account.password_hash, current)
    if not recovery.needs_code(account):
        return password_ok
    # The code is checked even after a wrong password: no hint which of the two was wrong.
    secret = totp.decrypt_secret(account.totp_secret_encrypted)
    return totp.accept_for_account(account, secret, code) and password_ok
