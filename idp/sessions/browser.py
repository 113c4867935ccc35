"""Server-side browser sessions: the cookie holds only a random id, the data lives in the store.

This is Flask's ``session`` (CSRF token, the pointer to the sign-in session, pending flows).
Keeping it server-side means nothing about a parent is readable or replayable from the cookie,
and any worker or replica can serve the next request. ``regenerate()`` gives a new id at
sign-in, so an id planted before sign-in is worthless after it (session fixation).

When the store is down, Flask opens the session before any view or error handler runs, and
saves it after they all ran: an exception in either place would be a bare 500. So a session
that cannot be read is opened as *unreadable* and the web layer (``idp.web.session_guard``)
answers 503 for everything that needs it; it also writes the session before the other
after-request hooks, so a write that fails still becomes the 503 they (and the request log) see.
A request that failed (any 5xx) leaves the session as it was: nothing of it is half saved.
"""

import json
import logging

from flask import session
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from idp import crypto, outages
from idp.paths import is_api_path

KEY = "browser:"

log = logging.getLogger(__name__)


class BrowserSession(CallbackDict, SessionMixin):
    def __init__(self, data=None, sid=None, new=False, unreadable=False):
        def on_update(_):
            self.modified = True

        super().__init__(data, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        self.old_sid = None
        #: The store could not be read: the session is empty and is never saved.
        self.unreadable = unreadable
        #: This request's changes are not to be saved (it failed, or the store is down).
        self.discarded = unreadable
        self.written = False
        self.cookie = None  # "set" or "delete" once written

    def regenerate(self):
        self.old_sid, self.sid = self.sid, None
        self.modified = True


def discard_changes() -> None:
    """The request failed: keep the browser session as it was before it."""
    if isinstance(session, BrowserSession):
        session.discarded = True


class BrowserSessionInterface(SessionInterface):
    def __init__(self, store, ttl: int):
        self.store = store
        self.ttl = ttl

    def open_session(self, app, request):
        if is_api_path(request.path):
            # Programs' endpoints never use it (idp.paths): no cookie parsed, no store read, no
            # write; Flask's null session lets a stray read find it empty.
            return None
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and len(sid) <= 64:
            try:
                raw = self.store.get(KEY + sid)
            except outages.STORE_DOWN as error:
                log.warning("browser session not read: %s", outages.describe(error))
                return BrowserSession(sid=sid, unreadable=True)
            if raw is not None:
                return BrowserSession(json.loads(raw), sid=sid)
        return BrowserSession(new=True)

    def write(self, session: BrowserSession) -> None:
        """Store the session's changes (once per request); the cookie follows in save_session."""
        if session.discarded or session.written:
            return
        session.written = True
        old = KEY + session.old_sid if session.old_sid else None  # regenerated: the old id ends
        if not session:
            gone = [old] if old else []
            if session.sid and not session.new:
                gone.append(KEY + session.sid)
                session.cookie = "delete"
            if gone:
                self.store.delete(*gone)
            return
        if not session.modified and not session.new:
            return  # (a regenerated session is modified)
        if session.sid is None:
            session.sid = crypto.new_token(24)
        value = json.dumps(dict(session))
        if old:  # at sign-in: the new record and the old one's end in one step, one round trip
            self.store.set_replacing(KEY + session.sid, value, self.ttl, old)
        else:
            self.store.set(KEY + session.sid, value, self.ttl)
        session.cookie = "set"

    def save_session(self, app, session, response):
        try:
            self.write(session)  # already done by persist(), unless no request hook ran
        except outages.STORE_DOWN as error:
            log.warning("browser session not saved: %s", outages.describe(error))
            return
        if session.discarded:
            return
        name = self.get_cookie_name(app)
        if session.cookie == "delete":
            response.delete_cookie(name, path=self.get_cookie_path(app))
        elif session.cookie == "set":
            response.set_cookie(
                name,
                session.sid,
                httponly=True,
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
                path=self.get_cookie_path(app),
            )
            response.vary.add("Cookie")
