"""The queries behind staff management: the organisation's staff accounts."""

from sqlalchemy import select

from idp.extensions import db
from idp.models import Account, Organisation
from idp.models.account import BEHEERDER, HELPDESK, MEDEWERKER

#: The roles a beheerder may give (servicebeheer comes only from `idp staff add`).
ASSIGNABLE_ROLES = (MEDEWERKER, HELPDESK, BEHEERDER)


def members(org: Organisation) -> list[Account]:
    return list(db.session.scalars(select(Account).where(
        Account.organisation_id == org.id, Account.role.is_not(None)).order_by(Account.username)))

