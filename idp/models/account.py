"""An account: a parent, or a staff member of the organisation (``role`` set).

Username is case-sensitive and unique per organisation; so is the ``external_id`` a provisioning
client (SCIM) gives it. ``version`` counts changes (SCIM's ETag); ``updated_at`` is the last one.
"""

from sqlalchemy import (BigInteger, ForeignKey, Index, Integer, LargeBinary, String,
                        UniqueConstraint, func, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.organisation import Organisation

INVITED = "invited"
ACTIVE = "active"
#: Signed out everywhere and refused at sign-in until enabled again; nothing is removed.
DISABLED = "disabled"

#: Staff roles per organisation (idp.console), from least to most. A parent has no role.
MEDEWERKER, HELPDESK, BEHEERDER = "medewerker", "helpdesk", "beheerder"
#: The one service-wide role: organisations, relying parties, signing keys.
SERVICEBEHEER = "servicebeheer"
STAFF_ROLES = (MEDEWERKER, HELPDESK, BEHEERDER, SERVICEBEHEER)


class Account(db.Model):
    __table_args__ = (
        UniqueConstraint("organisation_id", "username"),
        UniqueConstraint("organisation_id", "external_id", name="uq_account_organisation_external_id"),
        Index("ix_account_organisation_id_email", "organisation_id", "email"),
        # Addresses are unique per organisation in any case (idp.accounts): every invitation
        # looks them up by lower(email), which without this scans the whole organisation.
        # PostgreSQL only (migration 0008): the embedded SQLite is for one small organisation.
        Index("ix_account_organisation_id_lower_email", "organisation_id",
              func.lower(text("email"))).ddl_if(dialect="postgresql"),
    )

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
    disabled_at: Mapped[int | None] = mapped_column(Integer)
    last_sign_in_at: Mapped[int | None] = mapped_column(Integer)
    #: None for a parent; a staff role (STAFF_ROLES) for staff, who always sign in with a code.
    role: Mapped[str | None] = mapped_column(String(16))
    #: The provisioning client's own id for this account (SCIM ``externalId``).
    external_id: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    @property
    def is_staff(self) -> bool:
        return self.role is not None

    @property
    def organisation_code(self) -> str:
        return self.organisation.code

    def touch(self, now: int) -> None:
        """Record a change of the account: a new ``version`` (SCIM's ETag) and ``updated_at``."""
        self.version = (self.version or 1) + 1
        self.updated_at = now

    def get_user_id(self) -> str:
        """Authlib's hook for the token ``sub``."""
        return self.subject
