"""A single-use link e-mailed to an account holder: reset the password, or link a new
authenticator app (after a lost phone, or when the organisation starts asking for a code).

Like an activation, the link carries only a random token; its SHA-256 is stored and the link is
consumed with one conditional UPDATE (``used_at IS NULL``). A new link of the same purpose voids
the older ones. ``approved_at`` is set when no approval is needed or a second staff member gave
it (four-eyes); a link is sent only once approved.
"""

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.account import Account

PASSWORD_RESET = "password_reset"
NEW_AUTHENTICATOR = "new_authenticator"
PURPOSES = (PASSWORD_RESET, NEW_AUTHENTICATOR)


class AccountLink(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: NEW_AUTHENTICATOR: the secret to enrol, chosen when the link is made (AES-GCM, KEK).
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Who asked for it: a staff member's audit name, a client, or "self" (the parent).
    requested_by: Mapped[str] = mapped_column(String(150))
    approved_by: Mapped[str | None] = mapped_column(String(150))
    approved_at: Mapped[int | None] = mapped_column(Integer)
    issued_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer, index=True)
    opened_at: Mapped[int | None] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(Integer)

    account: Mapped[Account] = relationship(lazy="joined")
