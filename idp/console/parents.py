"""The queries behind the console's parents pages: list and search, one parent's detail.

Every query takes the organisation and only ever looks inside it; parents are accounts without
a role (staff are managed on their own pages, idp.console.staff).
"""

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select

from idp import clock, sessions, throttle
from idp.accounts import links
from idp.extensions import db
from idp.models import Account, AccountLink, Activation, AuditEvent, Client, Organisation
from idp.models.account import ACTIVE, DISABLED, INVITED

INVITED_STATUS, LINK_EXPIRED, ACTIVE_STATUS, LOCKED, DISABLED_STATUS = (
    "invited", "link_expired", "active", "locked", "disabled")
STATUSES = (INVITED_STATUS, LINK_EXPIRED, ACTIVE_STATUS, LOCKED, DISABLED_STATUS)
MAX_QUERY = 100
AUDIT_ROWS = 50


def _live_link(now: int):
    return exists().where(Activation.account_id == Account.id, Activation.used_at.is_(None),
                          Activation.expires_at > now)


def _status_condition(status: str, now: int):
    return {
        INVITED_STATUS: and_(Account.status == INVITED, _live_link(now)),
        LINK_EXPIRED: and_(Account.status == INVITED, ~_live_link(now)),
        ACTIVE_STATUS: and_(Account.status == ACTIVE, Account.locked_at.is_(None)),
        LOCKED: and_(Account.status == ACTIVE, Account.locked_at.is_not(None)),
        DISABLED_STATUS: Account.status == DISABLED,
    }[status]


def status_of(account: Account, has_live_link: bool) -> str:
    if account.status == DISABLED:
        return DISABLED_STATUS
    if account.status == INVITED:
        return INVITED_STATUS if has_live_link else LINK_EXPIRED
    return LOCKED if account.locked_at is not None else ACTIVE_STATUS


@dataclass
class Row:
    account: Account
    status: str


@dataclass
class Page:
    rows: list[Row]
    #: The username to continue after (keyset paging), or None on the last page.
    next_after: str | None


def search(org: Organisation, query: str = "", status: str = "", after: str = "",
           limit: int = 50) -> Page:
    """One page of the organisation's parents, by username; ``query`` matches the start of the
    username or e-mail address (their indexes), or any part of the name; case ignored."""
    now = clock.timestamp()
    statement = (
        select(Account, _live_link(now).label("live"))
        .where(Account.organisation_id == org.id, Account.role.is_(None))
        .order_by(Account.username)
        .limit(limit + 1)
    )
    query = query.strip()[:MAX_QUERY]
    if query:
        like = _escape(query.lower())
        statement = statement.where(or_(
            func.lower(Account.username).like(like + "%", escape="\\"),
            func.lower(Account.email).like(like + "%", escape="\\"),
            func.lower(Account.name).like("%" + like + "%", escape="\\"),
        ))
    if status in STATUSES:
        statement = statement.where(_status_condition(status, now))
    if after:
        statement = statement.where(Account.username > after)
    found = db.session.execute(statement).all()
    rows = [Row(account, status_of(account, live)) for account, live in found[:limit]]
    return Page(rows, rows[-1].account.username if len(found) > limit else None)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class Invitation:
    sent: int
    opened: int | None
    #: "activated", "pending", "expired" or "replaced" (a newer invitation voided it).
    outcome: str
    #: When the link was used, expired or replaced.
    ended: int | None


def invitations(account: Account) -> list[Invitation]:
    now = clock.timestamp()
    history = []
    for activation in db.session.scalars(select(Activation).where(
            Activation.account_id == account.id).order_by(Activation.issued_at.desc(),
                                                          Activation.id.desc())):
        if activation.used_at is not None:
            outcome = "activated" if activation.used_at == account.activated_at else "replaced"
            ended = activation.used_at
        elif activation.expires_at <= now:
            outcome, ended = "expired", activation.expires_at
        else:
            outcome, ended = "pending", None
        history.append(Invitation(activation.issued_at, activation.opened_at, outcome, ended))
    return history


@dataclass
class Detail:
    account: Account
    status: str
    invitations: list[Invitation]
    sessions: list
    failures: int
    waiting_until: float | None
    audit: list[AuditEvent]
    #: A reset of the authenticator waiting for a second staff member (four eyes).
    pending_reset: AccountLink | None
    #: client_id -> the relying party's name, for the sessions' websites.
    client_names: dict[str, str]


def detail(account: Account) -> Detail:
    history = invitations(account)
    live = sessions.live_for(account.id)
    client_ids = {client_id for signin in live for client_id in signin.clients}
    names = dict(db.session.execute(select(Client.client_id, Client.name).where(
        Client.client_id.in_(client_ids))).all()) if client_ids else {}
    failures, waiting_until = throttle.account_state(account.organisation.code, account.username)
    return Detail(
        account=account,
        status=status_of(account, any(i.outcome == "pending" for i in history)),
        invitations=history,
        sessions=live,
        failures=failures,
        waiting_until=waiting_until,
        audit=audit_trail(account),
        pending_reset=links.pending_approval(account),
        client_names=names,
    )


def audit_trail(account: Account, limit: int = AUDIT_ROWS) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.target == account.subject,
        AuditEvent.organisation_id == account.organisation_id,
    ).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))
