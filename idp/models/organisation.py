"""An organisation (samenwerkingsverband) that parents sign in under, e.g. PO2806 PPO Rotterdam."""

from sqlalchemy import Boolean, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db


class Organisation(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    requires_2fa: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(Integer)
    #: Whom a parent contacts when stuck (shown on help pages and in e-mails), in plain words:
    #: "de PPO helpdesk, 010 123 45 67, helpdesk@ppo.example".
    helpdesk_contact: Mapped[str | None] = mapped_column(String(300))
    #: A reset of a parent's authenticator needs a second staff member's approval (four-eyes).
    four_eyes_reset: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    @property
    def display_name(self) -> str:
        """As parents know it from the handbook: "PO2806 PPO Rotterdam"."""
        return f"{self.code} {self.name}"
