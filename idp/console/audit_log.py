"""Reading the audit log for staff: filtering by actor, parent, action and period within what a
staff member may see (a beheerder: the own organisation; servicebeheer: everything), and export
as CSV or JSON lines, streamed in chunks so a log of millions of events never sits in memory.

CSV cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return: OWASP's CSV injection list) get a leading ``'``, so an actor or
parent named ``=HYPERLINK(...)`` stays text when the export is opened in Excel.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Select, func, select

from idp.extensions import db
from idp.models import Account, AuditEvent, Organisation

#: Events read from the database per query while exporting.
CHUNK = 1000
#: What a spreadsheet takes for the start of a formula (OWASP, CSV Injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
COLUMNS = ("at", "actor", "action", "target", "parent", "organisation", "ip", "detail")


@dataclass(frozen=True)
class Filter:
    """Which events: ``organisation_id`` None means every organisation and the service's own
    events (only for servicebeheer: the caller decides who gets which filter)."""
    organisation_id: int | None
    actor: str = ""  # part of the actor's name, any case
    subjects: tuple[str, ...] = ()  # accounts' subjects: events about those accounts
    action: str = ""  # an action (account.invite) or its topic (account.)
    since: int | None = None  # from (inclusive), a timestamp
    until: int | None = None  # to (exclusive)


def _query(where: Filter) -> Select:
    query = (select(AuditEvent, Account.username, Organisation.code)
             .outerjoin(Account, Account.subject == AuditEvent.target)
             .outerjoin(Organisation, Organisation.id == AuditEvent.organisation_id))
    if where.organisation_id is not None:
        query = query.where(AuditEvent.organisation_id == where.organisation_id)
    if where.actor:
        query = query.where(func.lower(AuditEvent.actor).contains(where.actor.lower(),
                                                                   autoescape=True))
    if where.subjects:
        query = query.where(AuditEvent.target.in_(where.subjects))
    if where.action:
        if where.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(where.action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == where.action)
    if where.since is not None:
        query = query.where(AuditEvent.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.at < where.until)
    return query


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    parent: str | None  # the username of the account the event is about, while it exists
    organisation: str | None  # its code

    def as_dict(self) -> dict:
        event = self.event
        return {"at": iso(event.at), "actor": event.actor, "action": event.action,
                "target": event.target, "parent": self.parent,
                "organisation": self.organisation, "ip": event.ip, "detail": event.detail}


def page(where: Filter, *, before: int | None = None, size: int = 50) -> tuple[list[Entry], int | None]:
    """The newest ``size`` events older than event id ``before``; and the id to ask for the
    next page with (None: this was the last). Keyset paging: as fast on page 1,000 as on 1."""
    query = _query(where).order_by(AuditEvent.id.desc()).limit(size + 1)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    entries = [Entry(*row) for row in db.session.execute(query)]
    more = len(entries) > size
    entries = entries[:size]
    return entries, (entries[-1].event.id if more else None)


def events(where: Filter) -> Iterator[Entry]:
    """Every matching event, oldest first, read ``CHUNK`` at a time."""
    after = 0
    while True:
        query = _query(where).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(CHUNK)
        chunk = [Entry(*row) for row in db.session.execute(query)]
        yield from chunk
        if len(chunk) < CHUNK:
            return
        after = chunk[-1].event.id  # (the session's identity map holds events weakly)


def iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cell(value) -> str:
    """One CSV cell, safe to open in a spreadsheet (see the module's docstring)."""
    text = "" if value is None else value if isinstance(value, str) else \
        json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(entries) -> Iterator[str]:
    """A CSV file as Dutch Excel opens it with a double click: UTF-8 with a byte-order mark,
    ``;`` between cells, every cell quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def line(values) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff" + line(COLUMNS)
    for entry in entries:
        row = entry.as_dict()
        yield line([cell(row[column]) for column in COLUMNS])


def jsonl_lines(entries) -> Iterator[str]:
    """JSON lines: one object per event (no escaping needed: nothing reads it as a formula)."""
    for entry in entries:
        yield json.dumps(entry.as_dict(), ensure_ascii=False, sort_keys=True) + "\n"
