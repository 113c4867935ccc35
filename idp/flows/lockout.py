"""What a parent sees of a lockout (counting: idp.throttle; unlocking: idp.accounts.actions).

The parent gets an e-mail when the account is locked for 15 minutes (once, at the failure that
locks it) and when it is locked until the helpdesk unlocks it. The page never says so: a locked
account answers exactly like a wrong password.
"""

import logging

from flask import current_app
from sqlalchemy import update

from idp import clock, mail
from idp.extensions import db
from idp.models import Account

log = logging.getLogger(__name__)


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
    text, html = mail.render(
        "locked", account=account, organisation=account.organisation.display_name,
        permanent=permanent, minutes=config["IDP_LOCKOUT_SECONDS"] // 60,
        attempts=config["IDP_LOCKOUT_PERMANENT_AFTER" if permanent else "IDP_LOCKOUT_AFTER"],
        helpdesk_url=config["IDP_HELPDESK_URL"],
    )
    subject = f"[{config['IDP_BRAND']}] Uw account is geblokkeerd"
    mail.send(mail.build(account.email, subject, text, html))
