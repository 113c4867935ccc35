"""A grant: one parent's consent to one client, from one authorization code onwards.

Every token issued from the same authorization code shares the grant, so a reused code or a
reused refresh token revokes the whole chain at once (RFC 6749 4.1.2, RFC 9700 4.14.2), and so
does the end of the sign-in session the grant is bound to.
"""

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp import crypto
from idp.extensions import db


class Grant(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Named by every access token of the grant (its ``gid`` claim): random, so a token does
    #: not tell how many grants there are, and unique, to find the grant by. NULL only for a
    #: grant made by the release before (migration 0005): it gets one at its next token request.
    reference: Mapped[str | None] = mapped_column(
        String(32), unique=True, default=lambda: crypto.new_token(16))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: False: bound to the sign-in session ``sid`` and revoked when it ends. True: the client
    #: was granted ``offline_access``, and its refresh tokens outlive the session.
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(Integer)
