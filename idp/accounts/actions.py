"""SHIM (helper `service`): the contract's invite / Refused / suggest_username, deleted at merge
when helper `accounts`' real module arrives."""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select

from idp import audit
from idp.extensions import db
from idp.flows import activation
from idp.models import Account


@dataclass
class Actor:
    name: str
    ip: str | None = None
    reason: str | None = None


class Refused(Exception):
    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.code = code


def suggest_username(org, name: str) -> str:
    words = [w for w in re.split(r"\s+", unicodedata.normalize("NFKC", name).strip()) if w]
    base = ".".join([words[0].capitalize(), "".join(words[1:]).lower()]) if len(words) > 1 \
        else (words[0] if words else "ouder")
    base = re.sub(r"[^\w.\-]", "", base) or "ouder"
    taken = set(db.session.scalars(select(Account.username).where(
        Account.organisation_id == org.id, Account.username.startswith(base, autoescape=True))))
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}{number}"
    return candidate


def invite(org, email, username, name, actor, *, external_id=None, role=None) -> Account:
    if db.session.scalar(select(Account.id).where(Account.organisation_id == org.id,
                                                  Account.username == username)):
        raise Refused(f"De gebruikersnaam {username} bestaat al.", "duplicate_username")
    if db.session.scalar(select(Account.id).where(Account.organisation_id == org.id,
                                                  func.lower(Account.email) == email.lower())):
        raise Refused(f"Er is al een account met e-mailadres {email}.", "duplicate_email")
    try:
        account = activation.invite(org, email, username, name)
    except activation.InvitationError as error:
        raise Refused(str(error), "invalid") from None
    account.external_id, account.role = external_id, role
    audit.for_account(actor.name, "account.invite", account, ip=actor.ip)
    db.session.commit()
    return account


def resend_invitation(account, actor) -> None:
    if account.status != "invited":
        raise Refused("Dit account is niet meer uitgenodigd.", "not_pending")
    activation.invite(account.organisation, account.email, account.username, account.name)
    audit.for_account(actor.name, "account.resend", account, ip=actor.ip)
    db.session.commit()
