"""A pending activation: the single-use link from the welcome e-mail and the TOTP secret to enrol.

The TOTP secret is chosen when the invitation is made, so every view of the activation page shows
the same QR code and a parent never has to scan twice.
"""

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.account import Account


class Activation(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    totp_secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer, index=True)  # idp.cleanup
    used_at: Mapped[int | None] = mapped_column(Integer)
    #: First time the link was opened (the invitation history staff see).
    opened_at: Mapped[int | None] = mapped_column(Integer)

    account: Mapped[Account] = relationship(lazy="joined")
