"""The audit log: a record of every administrative action (who, when, what, to which thing).

``record()`` adds the event to the current transaction, so it is committed together with the
change it describes, or not at all. Callers pass facts, never secrets: kids, counts, names.
"""

import getpass
import os

from idp import clock
from idp.extensions import db
from idp.models import AuditEvent

#: The actor of what the service does by itself (e.g. making a missing key at first use).
SERVICE = "idp (service)"


def record(actor: str, action: str, target: str = "", *, organisation_id: int | None = None,
           ip: str | None = None, **detail) -> AuditEvent:
    """Add an event to the session; the caller commits it with the change it describes.

    An event about an account names it by its ``subject`` (``for_account``), never by username
    or e-mail address: erasing the account then leaves a record without personal data.
    """
    event = AuditEvent(**values(actor, action, target, organisation_id=organisation_id, ip=ip,
                                **detail))
    db.session.add(event)
    return event


def values(actor: str, action: str, target: str = "", *, organisation_id: int | None = None,
           ip: str | None = None, **detail) -> dict:
    """An event's column values (``record`` stores one; the bulk import INSERTs many at once)."""
    return dict(at=clock.timestamp(), actor=actor, action=action, target=target,
                organisation_id=organisation_id, ip=ip, detail=detail)


def os_user() -> str:
    """Who runs this process, for commands run without ``--actor``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry, e.g. in some containers
        return f"uid {os.getuid()}"


def for_account(actor: str, action: str, account, *, ip: str | None = None, **detail) -> AuditEvent:
    """An event about one account (a parent or a staff member), in its organisation."""
    return record(actor, action, account.subject, organisation_id=account.organisation_id, ip=ip,
                  **detail)


def account_values(actor: str, action: str, account, *, ip: str | None = None, **detail) -> dict:
    """``for_account``'s column values."""
    return values(actor, action, account.subject, organisation_id=account.organisation_id, ip=ip,
                  **detail)
