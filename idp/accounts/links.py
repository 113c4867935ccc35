"""Single-use links e-mailed to an account holder: choose a new password, or link a new
authenticator app (models/account_link.py).

The link carries only a random token; its SHA-256 is stored. A link is consumed with one
conditional UPDATE, so of two tabs exactly one wins. A new link of the same purpose voids the
older ones (their expiry moves to now: they read "expired"). A link waiting for a second staff
member's approval (four eyes) has no token yet: it is made, and sent, when approved.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exists, select, update

from idp import clock, crypto, mail
from idp.accounts import notices
from idp.auth import totp
from idp.extensions import db
from idp.models import Account, AccountLink
from idp.models.account_link import NEW_AUTHENTICATOR, PASSWORD_RESET

UNKNOWN, USED, EXPIRED = "unknown", "used", "expired"
#: Who asks when the account holder asks for a link themselves.
SELF = "self"

#: Per purpose: the lifetime setting, the page's path, the e-mail template and its subject.
KINDS = {
    PASSWORD_RESET: ("IDP_PASSWORD_RESET_TTL", "herstellen", "password_reset",
                     "Nieuw wachtwoord instellen"),
    NEW_AUTHENTICATOR: ("IDP_NEW_AUTHENTICATOR_TTL", "nieuwe-app", "new_authenticator",
                        "Koppel uw app opnieuw"),
}


def ttl(purpose: str) -> int:
    return current_app.config[KINDS[purpose][0]]


def url(purpose: str, token: str) -> str:
    return f"{current_app.config['IDP_ISSUER']}/{KINDS[purpose][1]}/{token}"


def void(account: Account, now: int, purpose: str | None = None) -> None:
    """The account's unused links (of ``purpose``, or all) stop working; the caller commits."""
    query = update(AccountLink).where(AccountLink.account_id == account.id,
                                      AccountLink.used_at.is_(None),
                                      AccountLink.expires_at > now)
    if purpose is not None:
        query = query.where(AccountLink.purpose == purpose)
    db.session.execute(query.values(expires_at=now))


def make(account: Account, purpose: str, requested_by: str, *,
         approved: bool = True) -> tuple[AccountLink, str | None]:
    """A new link (older ones of the purpose void) and its token, None until approved; the
    caller commits and then sends it."""
    now = clock.timestamp()
    void(account, now, purpose)
    token = crypto.new_token(32) if approved else None
    link = AccountLink(
        account_id=account.id, purpose=purpose, requested_by=requested_by[:150],
        token_hash=crypto.token_hash(token) if token else None,
        totp_secret_encrypted=(totp.encrypt_secret(totp.new_secret())
                               if purpose == NEW_AUTHENTICATOR else None),
        approved_by=requested_by[:150] if approved else None,
        approved_at=now if approved else None,
        issued_at=now, expires_at=now + ttl(purpose),
    )
    link.account = account
    db.session.add(link)
    db.session.flush()
    return link, token


def issue(account: Account, purpose: str, requested_by: str, *,
          approved: bool = True) -> AccountLink:
    """Make the link, commit, and e-mail it if approved (else it waits for ``approve``)."""
    link, token = make(account, purpose, requested_by, approved=approved)
    db.session.commit()
    if token:
        send(link, token)
    return link


def approve(link: AccountLink, approved_by: str) -> str | None:
    """Give a waiting link its token (one conditional UPDATE: one approval wins); its lifetime
    starts now. The token, or None if it was approved, used or voided already. Caller commits."""
    now = clock.timestamp()
    token = crypto.new_token(32)
    approved = db.session.execute(
        update(AccountLink)
        .where(AccountLink.id == link.id, AccountLink.approved_at.is_(None),
               AccountLink.used_at.is_(None), AccountLink.expires_at > now)
        .values(approved_at=now, approved_by=approved_by[:150],
                token_hash=crypto.token_hash(token), expires_at=now + ttl(link.purpose))
    ).rowcount == 1
    db.session.refresh(link)
    return token if approved else None


def app_reset_waiting(account_id):
    """An EXISTS clause: the helpdesk reset the account's app, and its unused link to link a new
    one is the way back (not linking an app at sign-in)."""
    return exists().where(AccountLink.account_id == account_id,
                          AccountLink.purpose == NEW_AUTHENTICATOR,
                          AccountLink.used_at.is_(None))


def pending_approval(account: Account) -> AccountLink | None:
    """The account's reset waiting for a second staff member, if any."""
    return db.session.scalar(
        select(AccountLink).where(AccountLink.account_id == account.id,
                                  AccountLink.approved_at.is_(None),
                                  AccountLink.used_at.is_(None),
                                  AccountLink.expires_at > clock.timestamp())
        .order_by(AccountLink.id.desc()))


def send(link: AccountLink, token: str) -> None:
    """E-mail the link to the account holder's own address (raises mail.MailError)."""
    account = link.account
    _, _, template, subject = KINDS[link.purpose]
    mail.send(notices.compose(
        account, template, subject, link=url(link.purpose, token),
        minutes=ttl(link.purpose) // 60, days=ttl(link.purpose) // 86400,
        two_factor=account.organisation.requires_2fa,
        helpdesk=notices.helpdesk_contact(account), requested_by_self=link.requested_by == SELF,
    ))


# --- the account holder's side ----------------------------------------------------------------
@dataclass
class Lookup:
    link: AccountLink | None
    problem: str | None


def find(token: str, purpose: str | None = None, *, hashed: bool = False) -> Lookup:
    """The usable link for ``token`` (or its hash), or why there is none. The first look at a
    link is recorded (``opened_at``, what staff see)."""
    token_hash = token if hashed else crypto.token_hash(token or "")
    link = db.session.scalar(select(AccountLink).where(AccountLink.token_hash == token_hash))
    if link is None or (purpose is not None and link.purpose != purpose):
        return Lookup(None, UNKNOWN)
    if link.used_at is not None:
        return Lookup(None, USED)
    now = clock.timestamp()
    if link.expires_at <= now or link.approved_at is None or not link.account.is_active:
        return Lookup(None, EXPIRED)
    if link.opened_at is None:
        db.session.execute(update(AccountLink).where(AccountLink.id == link.id,
                                                     AccountLink.opened_at.is_(None))
                           .values(opened_at=now))
        db.session.commit()
    return Lookup(link, None)


def consume(link: AccountLink) -> bool:
    """Use the link up: True for the one request that did (``UPDATE … WHERE used_at IS
    NULL``). The caller commits, with the change the link was for."""
    now = clock.timestamp()
    return db.session.execute(
        update(AccountLink)
        .where(AccountLink.id == link.id, AccountLink.used_at.is_(None),
               AccountLink.approved_at.isnot(None), AccountLink.expires_at > now)
        .values(used_at=now)
    ).rowcount == 1


def pending_secret(link: AccountLink) -> str:
    return totp.decrypt_secret(link.totp_secret_encrypted)
