"""A signing key for ID tokens and access tokens; the private part encrypted at rest.

States: ``next`` (published, not yet signing), ``active`` (signs; one per algorithm),
``retired`` (published until what it signed has expired), ``revoked`` (gone at once).
"""

from sqlalchemy import JSON, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db

NEXT, ACTIVE, RETIRED, REVOKED = "next", "active", "retired", "revoked"
PUBLISHED = (NEXT, ACTIVE, RETIRED)


class SigningKey(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: RFC 7638 thumbprint of the public key.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict] = mapped_column(JSON)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(Integer)
    activated_at: Mapped[int | None] = mapped_column(Integer)
    retired_at: Mapped[int | None] = mapped_column(Integer)
