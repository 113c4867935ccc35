"""SHIM of the shared account operations (contract: /work/briefs/accounts-interface.md).

Only enough for the console's tests; replaced by helper `accounts`' real module at merge.
"""

import re
from dataclasses import dataclass

from sqlalchemy import select

from idp import audit, clock, sessions, throttle
from idp.extensions import db
from idp.flows import activation
from idp.models import Account, AccountLink
from idp.models.account import ACTIVE, DISABLED, INVITED


@dataclass
class Actor:
    name: str
    ip: str | None = None
    reason: str | None = None


class Refused(Exception):
    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.code = code


def _event(actor, action, account, **detail):
    audit.for_account(actor.name, action, account, ip=actor.ip,
                      **({"reason": actor.reason} if actor.reason else {}), **detail)


def suggest_username(org, name: str) -> str:
    parts = [p for p in re.split(r"\s+", name.strip()) if p]
    base = ".".join([parts[0], "".join(parts[1:]).lower()]) if len(parts) > 1 else (parts or ["ouder"])[0]
    candidate, n = base, 1
    while db.session.scalar(select(Account.id).where(Account.organisation_id == org.id,
                                                     Account.username == candidate)):
        n += 1
        candidate = f"{base}{n}"
    return candidate


def invite(org, email, username, name, actor, *, external_id=None, role=None) -> Account:
    for column, value, code, text in (
        (Account.username, username, "duplicate_username", "Deze gebruikersnaam bestaat al."),
        (Account.email, email, "duplicate_email", "Dit e-mailadres heeft al een account."),
    ):
        if db.session.scalar(select(Account.id).where(Account.organisation_id == org.id,
                                                      column == value)):
            raise Refused(text, code)
    try:
        account = activation.invite(org, email, username, name)
    except activation.InvitationError as error:
        raise Refused(str(error), "invalid_email") from None
    account.role = role
    _event(actor, "account.invite", account)
    db.session.commit()
    return account


def resend_invitation(account, actor) -> None:
    if account.status != INVITED:
        raise Refused("Dit account is al geactiveerd.", "not_pending")
    activation.invite(account.organisation, account.email, account.username, account.name)
    _event(actor, "account.resend", account)
    db.session.commit()


def unlock(account, actor) -> None:
    account.locked_at = None
    throttle.forget(account.organisation.code, account.username)
    _event(actor, "account.unlock", account)
    db.session.commit()


def disable(account, actor) -> None:
    account.status, account.disabled_at = DISABLED, clock.timestamp()
    _event(actor, "account.disable", account)
    db.session.commit()
    sessions.end_all_for(account.id)


def enable(account, actor) -> None:
    account.status = ACTIVE if account.password_hash else INVITED
    account.disabled_at = None
    _event(actor, "account.enable", account)
    db.session.commit()


def end_sessions(account, actor) -> int:
    ended = sessions.end_all_for(account.id)
    _event(actor, "account.end_sessions", account, ended=ended)
    db.session.commit()
    return ended


def reset_authenticator(account, actor) -> AccountLink:
    account.totp_secret_encrypted = None
    approved = not account.organisation.four_eyes_reset
    now = clock.timestamp()
    link = AccountLink(account_id=account.id, purpose="new_authenticator", requested_by=actor.name,
                       approved_at=now if approved else None, issued_at=now,
                       expires_at=now + 3600)
    db.session.add(link)
    _event(actor, "account.reset_authenticator", account)
    db.session.commit()
    sessions.end_all_for(account.id)
    return link


def approve_reset(link, actor) -> None:
    if link.requested_by == actor.name:
        raise Refused("Een tweede persoon moet dit goedkeuren.", "same_person")
    link.approved_by, link.approved_at = actor.name, clock.timestamp()
    _event(actor, "account.approve_reset", link.account)
    db.session.commit()


def send_password_reset(account, actor) -> None:
    _event(actor, "account.password_reset_sent", account)
    db.session.commit()


def erase(account, actor) -> None:
    sessions.end_all_for(account.id)
    _event(actor, "account.erase", account)
    db.session.delete(account)
    db.session.commit()


def update_profile(account, actor, *, email=None, name=None, username=None, external_id=None):
    raise Refused("Niet beschikbaar.")
