"""The sign-in session: created at sign-in, kept alive by use, ended by logout or expiry.

A session ends ``IDP_SESSION_IDLE_TTL`` seconds after its last use, and in any case
``IDP_SESSION_MAX_TTL`` seconds after sign-in. It is a record in the store under its ``sid``
(the ``sid`` claim of ID tokens); the browser session only points at it.
"""

import json
from dataclasses import asdict, dataclass, field

from flask import current_app, session

from idp import clock, crypto
from idp.extensions import store

KEY = "signin:"
BROWSER_KEY = "signin_sid"


@dataclass
class SignInSession:
    sid: str
    account_id: int
    organisation_code: str
    auth_time: int
    amr: list[str]
    acr: str
    last_seen: float
    clients: list[str] = field(default_factory=list)

    def expires_at(self) -> float:
        config = current_app.config
        return min(
            self.last_seen + config["IDP_SESSION_IDLE_TTL"],
            self.auth_time + config["IDP_SESSION_MAX_TTL"],
        )

    def is_live(self) -> bool:
        return clock.now() < self.expires_at()


def _save(signin: SignInSession) -> None:
    ttl = max(1, int(signin.expires_at() - clock.now()) + 1)
    store().set(KEY + signin.sid, json.dumps(asdict(signin)), ttl)


def load(sid: str | None) -> SignInSession | None:
    """The live session with this sid, or None (expired sessions are removed)."""
    if not sid:
        return None
    raw = store().get(KEY + sid)
    if raw is None:
        return None
    signin = SignInSession(**json.loads(raw))
    if not signin.is_live():
        end(sid)
        return None
    return signin


def start(account, amr: list[str], acr: str) -> SignInSession:
    """A fresh session for ``account``; the browser session gets a new id too."""
    previous = session.get(BROWSER_KEY)
    if previous:
        end(previous)
    session.regenerate()
    now = clock.now()
    signin = SignInSession(
        sid=crypto.new_token(24),
        account_id=account.id,
        organisation_code=account.organisation.code,
        auth_time=int(now),
        amr=amr,
        acr=acr,
        last_seen=now,
    )
    _save(signin)
    session[BROWSER_KEY] = signin.sid
    return signin


def current() -> SignInSession | None:
    """The browser's live sign-in session, marked as used just now."""
    signin = load(session.get(BROWSER_KEY))
    if signin is None:
        session.pop(BROWSER_KEY, None)
        return None
    signin.last_seen = clock.now()
    _save(signin)
    return signin


def add_client(signin: SignInSession, client_id: str) -> None:
    if client_id not in signin.clients:
        signin.clients.append(client_id)
        _save(signin)


def end(sid: str) -> None:
    store().delete(KEY + sid)


def end_current() -> None:
    sid = session.pop(BROWSER_KEY, None)
    if sid:
        end(sid)
