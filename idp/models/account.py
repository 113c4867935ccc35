"""A parent's account: username (case-sensitive, unique per organisation), password, TOTP."""

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.organisation import Organisation

INVITED = "invited"
ACTIVE = "active"


class Account(db.Model):
    __table_args__ = (UniqueConstraint("organisation_id", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The OIDC ``sub``: random, stable, never the username.
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    username: Mapped[str] = mapped_column(String(150))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=INVITED)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: AES-GCM under the key-encryption key (idp.crypto); never stored in clear.
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Highest TOTP time step ever accepted: a code for this step or an older one is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(Integer)
    activated_at: Mapped[int | None] = mapped_column(Integer)
    #: Set after too many consecutive failed sign-ins (idp.throttle): only the helpdesk's
    #: ``idp parent unlock`` clears it.
    locked_at: Mapped[int | None] = mapped_column(Integer)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    @property
    def organisation_code(self) -> str:
        return self.organisation.code

    def get_user_id(self) -> str:
        """Authlib's hook for the token ``sub``."""
        return self.subject
