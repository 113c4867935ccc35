"""The sign-in session: created at sign-in, kept alive by use, ended by logout or expiry.

A session ends ``IDP_SESSION_IDLE_TTL`` seconds after its last use, and in any case
``IDP_SESSION_MAX_TTL`` seconds after sign-in. Use is: a request of the parent's browser to us,
an authorization request with the session, and a refresh of a token bound to it.

It is a record in the store under its ``sid`` (the ``sid`` claim of ID tokens); the browser
session only points at it. The schedule ``EXPIRY`` holds every session's current expiry time,
so the worker (``sweep_expired``) ends sessions on time even when nobody comes back. Ending a
session, for whatever reason, happens in ``end``: it takes the record and queues the logouts owed
in one atomic step, so exactly one caller revokes the refresh tokens bound to it, and the
back-channel logouts are sent once, even if the store fails right after.
"""

import json
import logging
from dataclasses import asdict, dataclass, field

from flask import current_app, g, session

from idp import clock, crypto, metrics
from idp.sessions import backchannel
from idp.extensions import db, store
from idp.oauth import tokens

log = logging.getLogger(__name__)

KEY = "signin:"
EXPIRY = "signin-expiry"
BY_ACCOUNT = "signin-account:"
BROWSER_KEY = "signin_sid"
#: How long an ended-by-time record stays readable for the sweeper if no worker runs at all.
RECORD_GRACE = 3600
#: How long a worker may hold an expired session before another worker may take it over.
SWEEP_LEASE = 60

LOGOUT, IDLE, MAX_AGE, ADMIN, NEW_SIGN_IN = "logout", "idle", "max_age", "admin", "new_sign_in"


@dataclass
class SignInSession:
    sid: str
    account_id: int
    subject: str
    organisation_code: str
    auth_time: int
    amr: list[str]
    acr: str
    last_seen: float
    clients: list[str] = field(default_factory=list)
    #: When a code was last proved in this session (sign-in, or the console's step-up), or None.
    code_at: float | None = None

    def expires_at(self) -> float:
        config = current_app.config
        return min(
            self.last_seen + config["IDP_SESSION_IDLE_TTL"],
            self.auth_time + config["IDP_SESSION_MAX_TTL"],
        )

    def is_live(self) -> bool:
        return clock.now() < self.expires_at()

    def end_reason(self) -> str:
        max_end = self.auth_time + current_app.config["IDP_SESSION_MAX_TTL"]
        return MAX_AGE if clock.now() >= max_end else IDLE


def _save(signin: SignInSession) -> None:
    expires_at = signin.expires_at()
    ttl = max(1, int(expires_at - clock.now()) + RECORD_GRACE)
    store().set_and_schedule(KEY + signin.sid, json.dumps(asdict(signin)), ttl, [
        (EXPIRY, signin.sid, expires_at),
        (BY_ACCOUNT + str(signin.account_id), signin.sid, expires_at),
    ])


def _read(sid: str) -> SignInSession | None:
    raw = store().get(KEY + sid)
    return SignInSession(**json.loads(raw)) if raw else None


def load(sid: str | None) -> SignInSession | None:
    """The live session with this sid, or None (a session found expired is ended now)."""
    if not sid or len(sid) > 64:
        return None
    signin = _read(sid)
    if signin is None:
        return None
    if not signin.is_live():
        end(sid, signin.end_reason())
        return None
    return signin


def grant_is_live(grant) -> bool:
    """Tokens of this grant may be used: not revoked, and its session lives (unless offline)."""
    if grant.revoked_at is not None:
        return False
    return grant.offline or load(grant.sid) is not None


def use(sid: str | None) -> SignInSession | None:
    """The live session with this sid, marked as used just now (the idle timer starts again,
    the absolute lifetime does not move); None if there is none (one found expired is ended
    now). Reading, checking and marking are one atomic step in the store, one round trip: a
    session ended meanwhile is not brought back by a late mark."""
    if not sid or len(sid) > 64:
        return None
    config = current_app.config
    raw, touched = store().touch_session(
        KEY + sid, sid, clock.now(), config["IDP_SESSION_IDLE_TTL"],
        config["IDP_SESSION_MAX_TTL"], RECORD_GRACE, EXPIRY, BY_ACCOUNT)
    if raw is None:
        return None
    signin = SignInSession(**json.loads(raw))
    if not touched:
        end(sid, signin.end_reason())
        return None
    return signin


def start(account, organisation_code: str, amr: list[str], acr: str,
          client_id: str | None = None) -> SignInSession:
    """A fresh session for ``account``; the browser session gets a new id too. ``client_id``:
    the relying party the sign-in is for, if any (``add_client`` then has nothing to write)."""
    previous = session.get(BROWSER_KEY)
    if previous:
        end(previous, NEW_SIGN_IN)
    session.regenerate()
    now = clock.now()
    signin = SignInSession(
        sid=crypto.new_token(24),
        account_id=account.id,
        subject=account.subject,
        organisation_code=organisation_code,
        auth_time=int(now),
        amr=amr,
        acr=acr,
        last_seen=now,
        code_at=now if "otp" in amr else None,
        clients=[client_id] if client_id else [],
    )
    _save(signin)
    session[BROWSER_KEY] = signin.sid
    g.signin = signin
    return signin


def current() -> SignInSession | None:
    """The browser's live sign-in session, marked as used just now (once per request)."""
    if "signin" not in g:
        signin = use(session.get(BROWSER_KEY))
        if signin is None:
            session.pop(BROWSER_KEY, None)
        g.signin = signin
    return g.signin


def prove_code(signin: SignInSession) -> None:
    """The person just gave a fresh code again (the console's step-up)."""
    signin.code_at = clock.now()
    _save(signin)


def live_for(account_id: int) -> list[SignInSession]:
    """The account's live sessions (the console shows them), oldest sign-in first."""
    found = [load(sid) for sid in store().scheduled(BY_ACCOUNT + str(account_id))]
    return sorted((s for s in found if s is not None), key=lambda s: s.auth_time)


def add_client(signin: SignInSession, client_id: str) -> None:
    if client_id not in signin.clients:
        signin.clients.append(client_id)
        _save(signin)


def end(sid: str, reason: str) -> bool:
    """End the session: its bound refresh tokens stop working and every client that took part
    hears of it by back-channel logout. True for the one caller that ended it.

    Taking the record and queueing the logouts it owes are one atomic step in the store
    (``backchannel.queue_ended``): a store lost half-way through this function loses no logout,
    and a session is never taken twice, so no logout is owed twice."""
    raw = backchannel.queue_ended(KEY + sid, sid, unschedule=[(EXPIRY, sid)])
    if raw is None:
        return False
    signin = SignInSession(**json.loads(raw))
    # Without its record the session's grants are dead already (grant_is_live); this says so in
    # the database too.
    tokens.revoke_session_grants(sid)
    db.session.commit()
    store().unschedule(BY_ACCOUNT + str(signin.account_id), sid)  # a stale entry is harmless
    metrics.SESSIONS_ENDED.labels(reason).inc()
    log.info("session ended: account %s, reason %s", signin.account_id, reason)
    return True


def end_current() -> None:
    sid = session.pop(BROWSER_KEY, None)
    g.signin = None
    if sid:
        end(sid, LOGOUT)


def end_all_for(account_id: int, reason: str = ADMIN, keep: str | None = None) -> int:
    """End every session of one account (the helpdesk, a password change), but ``keep`` (the
    sid of the browser that made the change); returns how many ended."""
    index = BY_ACCOUNT + str(account_id)
    ended = 0
    for sid in store().scheduled(index):
        if keep is not None and crypto.same(sid, keep):
            continue
        ended += end(sid, reason)
        store().unschedule(index, sid)  # also a stale entry whose record already expired
    return ended


def sweep_expired(limit: int = 500) -> int:
    """End the sessions whose time is up; the worker calls this every few seconds."""
    ended = 0
    for sid in store().claim_due(EXPIRY, clock.now(), SWEEP_LEASE, limit):
        signin = _read(sid)
        if signin is None:
            store().unschedule(EXPIRY, sid)
        elif signin.is_live():  # used again in the meantime: back on its new expiry time
            store().schedule(EXPIRY, sid, signin.expires_at())
        else:
            ended += end(sid, signin.end_reason())
    return ended


def count() -> int:
    """Sessions not yet ended (expired ones count until the worker's next round)."""
    return store().count(EXPIRY)
