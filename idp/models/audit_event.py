"""One administrative action, kept for accountability: who did what to which thing, and when.

Written through idp.audit in the same transaction as the change itself, so a change is never
without its record. The detail never holds secrets.
"""

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db


class AuditEvent(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[int] = mapped_column(Integer, index=True)
    #: Who: the --actor given to the command, or the operating-system user running it.
    actor: Mapped[str] = mapped_column(String(150))
    #: What, as ``topic.verb``: ``signing_key.rotate``, ``kek.rotate``, ...
    action: Mapped[str] = mapped_column(String(64), index=True)
    #: Which thing: a kid, a client_id, ... (empty when the action has no single target).
    #: For an account: its ``subject`` (never the username or e-mail, so erasing the account
    #: leaves a stub without personal data).
    target: Mapped[str] = mapped_column(String(200), index=True)
    #: The organisation the action concerns (None: service-wide), so each sees only its own.
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Where a person's action came from (console, self-service); None for commands.
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict] = mapped_column(JSON)
