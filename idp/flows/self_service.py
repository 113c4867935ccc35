"""What a parent can ask for without signing in: a link to choose a new password (forgotten
password) and a new activation link (the old one expired).

The answer is the same whatever exists (OWASP ASVS 5 V6.3.8, no enumeration): the request does
the same work for every account, known or not (one look-up, the throttling counts), and the
e-mail work is handed back as a *job* that the web layer runs after the answer has been sent,
so its time (a link, an SMTP round trip) is not in the answer's. Throttled per client IP and per
account as typed (idp.throttle).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from idp import audit, mail, throttle
from idp.accounts import links
from idp.accounts.actions import Actor, Refused, resend_invitation
from idp.extensions import db
from idp.models import Account, Activation, Organisation
from idp.models.account import ACTIVE, INVITED
from idp.models.account_link import PASSWORD_RESET

log = logging.getLogger(__name__)

RESET, ACTIVATION = "reset", "activation"
#: One e-mail address may belong to a few accounts of one organisation (two children, two
#: usernames); each gets its own e-mail, up to this many.
MAX_ACCOUNTS_PER_ADDRESS = 5


@dataclass
class Asked:
    #: Too many requests from this client IP: the parent sees 429, nothing is sent.
    throttled: bool = False
    #: The e-mail work, to run after the answer is sent (None: nothing to send).
    job: Callable[[], None] | None = None


def ask_password_reset(org_code: str, identifier: str, ip: str) -> Asked:
    """A parent forgot the password and gave organisation and username or e-mail address.

    An active account gets a single-use link to choose a new password; one that was never
    activated gets a new activation link instead (the parent most likely lost the welcome
    e-mail); a disabled or unknown one gets nothing. The answer is the same in each case."""
    identifier = identifier.strip()
    key = f"{org_code}\0{identifier.casefold() if '@' in identifier else identifier}"
    refusal = throttle.self_service_refusal(RESET, ip, key)
    if refusal == throttle.IP:
        log.warning("forgotten password throttled: too many requests from this IP")
        return Asked(throttled=True)
    account_ids = _matching_accounts(org_code, identifier)
    if refusal == throttle.ACCOUNT:
        log.info("forgotten password: no e-mail, too many asked for this account lately")
        return Asked()
    if not account_ids:
        log.info("forgotten password: no account to send to")
        return Asked()
    return Asked(job=lambda: _send_links(account_ids, ip))


def _matching_accounts(org_code: str, identifier: str) -> list[int]:
    query = select(Account.id).join(Organisation).where(
        Organisation.code == org_code, Account.status.in_((ACTIVE, INVITED)))
    if "@" in identifier:  # e-mail addresses are compared without case, usernames with
        query = query.where(func.lower(Account.email) == identifier.lower())
    else:
        query = query.where(Account.username == identifier)
    return list(db.session.scalars(query.order_by(Account.id).limit(MAX_ACCOUNTS_PER_ADDRESS)))


def _send_links(account_ids: list[int], ip: str) -> None:
    for account in db.session.scalars(select(Account).where(Account.id.in_(account_ids))):
        if account.status == ACTIVE and not _e_mail_may_reset(account):
            log.info("forgotten password: no link, the e-mail alone would take over account %s",
                     account.id)
        elif account.status == ACTIVE:
            audit.for_account(links.SELF, "account.password_reset_sent", account, ip=ip)
            _deliver(lambda: links.issue(account, PASSWORD_RESET, links.SELF))
        elif account.status == INVITED:
            _deliver(lambda: resend_invitation(account, Actor(links.SELF, ip)))


def _deliver(send: Callable[[], object]) -> None:
    """Send one e-mail; a failure is logged (the parent already has the answer)."""
    try:
        send()
    except mail.MailError as error:
        log.error("self-service e-mail not sent: %s", error)
    except Refused as refused:  # the account changed since the request: nothing to send
        log.info("self-service e-mail not sent: %s", refused.code)


def ask_new_activation(token_hash: str, ip: str) -> Asked:
    """A parent opened an activation link that no longer works and asks for a new one.

    A new link goes to the address on file, only while the account is still waiting to be
    activated; the old links die with it. The answer is the same for an unknown link."""
    activation = db.session.scalar(select(Activation).where(Activation.token_hash == token_hash))
    key = f"account:{activation.account_id}" if activation else f"link:{token_hash}"
    refusal = throttle.self_service_refusal(ACTIVATION, ip, key)
    if refusal == throttle.IP:
        log.warning("new activation link throttled: too many requests from this IP")
        return Asked(throttled=True)
    if refusal == throttle.ACCOUNT or activation is None or activation.account.status != INVITED:
        log.info("new activation link: nothing to send (%s)", refusal or "no pending account")
        return Asked()
    return Asked(job=lambda: _send_links([activation.account_id], ip))


def _e_mail_may_reset(account: Account) -> bool:
    """Where the organisation asks a code, a self-asked reset needs a linked app: the new
    password is confirmed with its code. Without one (the helpdesk reset it, or the organisation
    started asking a code later) the e-mail alone would choose the password and then link an
    app: such a parent asks the helpdesk instead, and gets the same answer here."""
    return not account.organisation.requires_2fa or account.totp_secret_encrypted is not None
