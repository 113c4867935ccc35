"""Moving the authenticator app to a new phone while the old one still works (account page).

Three steps, kept as a small flow record in the browser session: the current code from the old
app (counted like a sign-in, idp.accounts.recovery; the replay guard applies); then a new secret
is shown as a QR code and a key; then a code from the new app saves it. The old secret stops
working at that moment (one conditional UPDATE: only if it is still the one the flow started
from). The flow belongs to one sign-in session and lasts ``IDP_AUTHENTICATOR_MOVE_TTL``.
"""

import base64
import hashlib
import logging

from flask import current_app
from sqlalchemy import update

from idp import audit, clock, crypto, throttle
from idp.accounts import links, notices, recovery
from idp.auth import totp
from idp.extensions import db
from idp.models import Account

log = logging.getLogger(__name__)


def _fingerprint(blob: bytes | None) -> str:
    return hashlib.sha256(blob or b"").hexdigest()


def can_move(account: Account) -> bool:
    return account.is_active and account.totp_secret_encrypted is not None


def start(account: Account, old_code: str, sid: str, ip: str | None) -> dict | None:
    """Check the old app's code; the flow record (new secret encrypted), or None when wrong."""
    if not can_move(account):
        return None
    if not recovery.check_code(account, old_code, ip):
        db.session.rollback()
        log.info("authenticator move refused: wrong or replayed code (account %s)", account.id)
        return None
    db.session.commit()  # the old code is used up
    throttle.record_success(account.organisation.code, account.username)
    return {
        "account_id": account.id,
        "sid": sid,
        "old": _fingerprint(account.totp_secret_encrypted),
        "secret": base64.b64encode(totp.encrypt_secret(totp.new_secret())).decode(),
        "started_at": clock.now(),
    }


def pending_secret(flow: dict | None, account: Account, sid: str) -> str | None:
    """The new secret of a flow that is this sign-in's, for this account, and not expired."""
    if not flow or flow.get("account_id") != account.id or not crypto.same(flow.get("sid", ""), sid):
        return None
    if clock.now() - flow.get("started_at", 0) > current_app.config["IDP_AUTHENTICATOR_MOVE_TTL"]:
        return None
    return totp.decrypt_secret(base64.b64decode(flow["secret"]))


def finish(account: Account, flow: dict, new_code: str, ip: str) -> bool | None:
    """Save the new secret if ``new_code`` is the new app's: True when saved, False for a wrong
    code, None when the old secret changed meanwhile (the flow is over)."""
    secret = totp.decrypt_secret(base64.b64decode(flow["secret"]))
    step = totp.matching_step(secret, new_code)
    if step is None:
        return False
    old = account.totp_secret_encrypted
    if not crypto.same(_fingerprint(old), flow["old"]):
        return None
    saved = db.session.execute(
        update(Account)
        .where(Account.id == account.id, Account.totp_secret_encrypted == old)
        .values(totp_secret_encrypted=base64.b64decode(flow["secret"]),
                # the enrolment code may not sign in as well
                totp_last_step=max(step, account.totp_last_step or 0),
                version=Account.version + 1, updated_at=clock.timestamp())
    ).rowcount == 1
    if not saved:
        db.session.rollback()
        return None
    audit.for_account(links.SELF, "account.authenticator_moved", account, ip=ip)
    db.session.commit()
    notices.send(account, notices.AUTHENTICATOR_LINKED)
    return True

