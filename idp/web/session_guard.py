"""Request hooks around the browser session (idp.sessions.browser): a 503 when it cannot be
read, and writing it before the other after-request hooks so a failed write is still a 503."""

import logging

from flask import after_this_request, current_app, request, session

from idp import outages
from idp.paths import is_api_path
from idp.sessions.browser import BrowserSession
from idp.store import StoreUnavailable
from idp.web.errors import unavailable_answer

log = logging.getLogger(__name__)


def refuse_when_unreadable():
    """Before-request hook: without its session a page cannot be served safely (no CSRF token,
    no sign-in, no flow), so it is a 503, not a page that pretends nobody is signed in.
    Programs' endpoints (and unknown paths) never use the browser session: they go on, and
    whatever of theirs needs the store fails on its own."""
    if not isinstance(session, BrowserSession):
        return
    if session.unreadable:
        if request.endpoint not in (None, "static") and not is_api_path(request.path):
            raise StoreUnavailable("the browser session could not be read")
    else:
        after_this_request(persist)


def persist(response):
    """Write the session now, while a failure can still change the answer into a 503."""
    try:
        current_app.session_interface.write(session)
    except outages.STORE_DOWN as error:
        log.warning("browser session not saved: %s", outages.describe(error))
        session.discarded = True
        return unavailable_answer()
    return response
