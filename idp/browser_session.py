"""Server-side browser sessions: the cookie holds only a random id, the data lives in the store.

This is Flask's ``session`` (CSRF token, the pointer to the sign-in session, pending flows).
Keeping it server-side means nothing about a parent is readable or replayable from the cookie,
and any worker or replica can serve the next request. ``regenerate()`` gives a new id at
sign-in, so an id planted before sign-in is worthless after it (session fixation).
"""

import json

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from idp import crypto

KEY = "browser:"


class BrowserSession(CallbackDict, SessionMixin):
    def __init__(self, data=None, sid=None, new=False):
        def on_update(_):
            self.modified = True

        super().__init__(data, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        self.old_sid = None

    def regenerate(self):
        self.old_sid, self.sid = self.sid, None
        self.modified = True


class BrowserSessionInterface(SessionInterface):
    def __init__(self, store, ttl: int):
        self.store = store
        self.ttl = ttl

    def open_session(self, app, request):
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and len(sid) <= 64:
            raw = self.store.get(KEY + sid)
            if raw is not None:
                return BrowserSession(json.loads(raw), sid=sid)
        return BrowserSession(new=True)

    def save_session(self, app, session, response):
        name = self.get_cookie_name(app)
        if session.old_sid:
            self.store.delete(KEY + session.old_sid)
        if not session:
            if session.sid and not session.new:
                self.store.delete(KEY + session.sid)
                response.delete_cookie(name, path=self.get_cookie_path(app))
            return
        if not session.modified and not session.new:
            return
        if session.sid is None:
            session.sid = crypto.new_token(24)
        self.store.set(KEY + session.sid, json.dumps(dict(session)), self.ttl)
        response.set_cookie(
            name,
            session.sid,
            httponly=True,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            path=self.get_cookie_path(app),
        )
        response.vary.add("Cookie")
