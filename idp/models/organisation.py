"""An organisation (samenwerkingsverband) that parents sign in under, e.g. PO2806 PPO Rotterdam."""

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db


class Organisation(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    requires_2fa: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(Integer)

    @property
    def display_name(self) -> str:
        """As parents know it from the handbook: "PO2806 PPO Rotterdam"."""
        return f"{self.code} {self.name}"
