"""SHIM for branch issue-13-scim only: the names of /work/briefs/accounts-interface.md, so SCIM
can be built before helper `accounts` lands idp/accounts/. Deleted at merge in favour of theirs;
nothing here is meant to survive."""

from dataclasses import dataclass

from sqlalchemy import delete, select, update

from idp import audit, clock, sessions
from idp.extensions import db
from idp.flows import activation
from idp.models import (Account, AccountLink, Activation, AuthorizationCode, Grant,
                        RefreshToken)
from idp.models.account import ACTIVE, DISABLED, INVITED


@dataclass
class Actor:
    name: str
    ip: str | None = None
    reason: str | None = None


class Refused(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def _audit(actor, verb, account, **detail):
    audit.for_account(actor.name, f"account.{verb}", account, ip=actor.ip, **detail)


def _changed(account):
    account.version = (account.version or 1) + 1
    account.updated_at = clock.timestamp()


def _unique(org, *, username=None, external_id=None, email=None, but=None):
    checks = (("duplicate_username", Account.username, username),
              ("duplicate_external_id", Account.external_id, external_id))
    for code, column, value in checks:
        if value is None:
            continue
        query = select(Account.id).where(Account.organisation_id == org.id, column == value)
        if but is not None:
            query = query.where(Account.id != but.id)
        if db.session.scalar(query) is not None:
            raise Refused(f"{value!r} bestaat al in {org.code}.", code)


def invite(org, email, username, name, actor, *, external_id=None, role=None):
    _unique(org, username=username, external_id=external_id)
    try:
        account = activation.invite(org, email, username, name)
    except activation.InvitationError as error:
        raise Refused(str(error), "invalid_username" if "username" in str(error)
                      else "invalid_email") from None
    account.external_id, account.role = external_id, role
    account.updated_at = clock.timestamp()
    _audit(actor, "invite", account)
    db.session.commit()
    return account


def resend_invitation(account, actor):
    if account.status != INVITED:
        raise Refused("Dit account is al geactiveerd.", "not_pending")
    activation.invite(account.organisation, account.email, account.username, account.name)
    _audit(actor, "resend", account)
    db.session.commit()


def disable(account, actor):
    account.status, account.disabled_at = DISABLED, clock.timestamp()
    _changed(account)
    _audit(actor, "disable", account)
    db.session.commit()
    sessions.end_all_for(account.id, sessions.ADMIN)


def enable(account, actor):
    account.status = ACTIVE if account.activated_at else INVITED
    account.disabled_at = None
    _changed(account)
    _audit(actor, "enable", account)
    db.session.commit()


def erase(account, actor):
    sessions.end_all_for(account.id, sessions.ADMIN)
    _audit(actor, "erase", account)
    for model in (RefreshToken, AuthorizationCode, Activation, AccountLink):
        db.session.execute(delete(model).where(model.account_id == account.id))
    db.session.execute(update(Grant).where(Grant.account_id == account.id)
                       .values(revoked_at=clock.timestamp()))
    db.session.execute(delete(Grant).where(Grant.account_id == account.id))
    db.session.delete(account)
    db.session.commit()


def update_profile(account, actor, *, email=None, name=None, username=None, external_id=None):
    _unique(account.organisation, username=username, external_id=external_id, but=account)
    changes = {k: v for k, v in dict(email=email, name=name, username=username,
                                     external_id=external_id).items()
               if v is not None and getattr(account, k) != v}
    for key, value in changes.items():
        setattr(account, key, value or None if key in ("name", "external_id") else value)
    if changes:
        _changed(account)
        _audit(actor, "update", account, fields=sorted(changes))
    db.session.commit()
