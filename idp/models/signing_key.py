"""A signing key for ID tokens and access tokens; the private part encrypted at rest.

States (see docs/operations.md, "Signing keys"): ``next`` (published, not yet signing), ``active`` (signs;
one per algorithm), ``retired`` (published until every token it signed has expired; see
idp.keys.schedule), ``revoked`` (gone at once, never trusted again).
"""

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db

NEXT, ACTIVE, RETIRED, REVOKED = "next", "active", "retired", "revoked"
PUBLISHED = (NEXT, ACTIVE, RETIRED)


def _one_per_alg(state: str) -> Index:
    """At most one key per algorithm in ``state``, enforced by the database: two workers or two
    administrators racing can never leave two active (or two next) keys behind."""
    where = text(f"state = '{state}'")
    return Index(f"uq_signing_key_{state}_alg", "alg", unique=True,
                 sqlite_where=where, postgresql_where=where)


class SigningKey(db.Model):
    __table_args__ = (_one_per_alg(ACTIVE), _one_per_alg(NEXT))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: RFC 7638 thumbprint of the public key.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict] = mapped_column(JSON)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: Also when it was first published: a key is in the JWKS from the moment it is stored.
    created_at: Mapped[int] = mapped_column(Integer)
    activated_at: Mapped[int | None] = mapped_column(Integer)
    retired_at: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(Integer)
