"""Refresh tokens: opaque, stored hashed, rotating on use. (Access tokens are JWTs, RFC 9068,
and are not stored: they name their grant, idp.oauth.tokens.) The token endpoint reads and writes
this table through idp.oauth.records; the model is the schema and serves everything else.
"""

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db


class RefreshToken(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grant.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    scope: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[int] = mapped_column(Integer)
    amr: Mapped[list] = mapped_column(JSON)
    acr: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer, index=True)  # idp.cleanup
    #: Set when the token is exchanged for a new one; presenting it again is a reuse.
    used_at: Mapped[int | None] = mapped_column(Integer)
