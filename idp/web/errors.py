"""Error answers: a page for people (Dutch, or the parent's language), an RFC 6749 error object
for clients, an RFC 7644 3.12 error for SCIM clients.

Nothing internal reaches either: the detail goes to the log only. An outage of Redis or the
database is a 503 (``idp.outages``): the request's database transaction is rolled back and its
browser-session changes are dropped, so a request that failed leaves nothing half done.
"""

import contextlib
import logging

from flask import Response, current_app, g, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from idp import outages, throttle
from idp.extensions import db
from idp.paths import is_api_path, is_scim_path
from idp.scim import errors as scim_errors
from idp.sessions.browser import discard_changes

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("Deze pagina kon niet worden verwerkt. Ga terug en probeer het opnieuw."),
    403: _l("U heeft geen toegang tot deze pagina."),
    404: _l("Deze pagina bestaat niet."),
    405: _l("Deze pagina kan zo niet worden gebruikt."),
    413: _l("U stuurde te veel gegevens mee."),
    429: _l("Te veel pogingen. Wacht even en probeer het dan opnieuw."),
    500: _l("Er ging iets mis aan onze kant. Probeer het later opnieuw."),
    503: _l("De dienst is even niet beschikbaar. Probeer het over een paar minuten opnieuw."),
}
OUTAGE_MESSAGE = _l(
    "Door een storing aan onze kant kunnen wij dit nu niet afhandelen. Er is niets opgeslagen "
    "of veranderd. Probeer het over een paar minuten opnieuw."
)
#: Too many failed sign-ins (or password and code checks on the link pages) from one IP address
#: or organisation (idp.throttle).
THROTTLED = _l(
    "Er is vanaf deze internetverbinding te vaak verkeerd ingelogd. Wacht tien minuten en "
    "probeer het dan opnieuw. Lukt het daarna nog niet, vraag dan hulp aan de helpdesk."
)
#: Self-service e-mails (forgotten password, a new activation link) asked for too often.
TOO_MANY_EMAILS = _l(
    "Er is vanaf deze internetverbinding te vaak om een e-mail gevraagd. Wacht een uur en "
    "probeer het dan opnieuw. Lukt het daarna nog niet, vraag dan hulp aan de helpdesk."
)
CSRF_MESSAGE = _l(
    "Deze pagina was verlopen of is al gebruikt. Laad de pagina opnieuw en probeer het nog eens."
)


def error_page(status: int, message: str | None = None):
    text = message or MESSAGES.get(status, MESSAGES[400])
    return render_template("errors/error.html", status=status, message=text), status


def throttled_page(message=THROTTLED, window: int | None = None):
    """429 with a page saying why and, in Retry-After (RFC 9110 10.2.3), when the throttle's
    ``window`` ends. Without arguments: the sign-in page's answer to a throttled IP address or
    organisation, also on the link pages."""
    body, status = error_page(429, message)
    return body, status, {"Retry-After": str(throttle.retry_after(window))}


def too_many_emails():
    """Too many self-service e-mails asked for from this client IP (idp.throttle)."""
    return throttled_page(TOO_MANY_EMAILS, current_app.config["IDP_SELFSERVICE_WINDOW"])


def _client_code(status: int) -> str:
    if status == 503:
        # RFC 6749 4.1.2.1 defines temporarily_unavailable for the authorization endpoint; the
        # other endpoints use it the same way: the client may simply try again a little later.
        return "temporarily_unavailable"
    return "server_error" if status >= 500 else "invalid_request"


def _client_error(status: int, code: str, description: str | None = None):
    body = {"error": code, "error_description": description} if description else {"error": code}
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse(status: int, message: str | None = None, description: str | None = None):
    """A request we will not handle: for people a page with ``message`` and ``status``; for
    programs 400 ``invalid_request`` (RFC 6749 5.2) with ``description`` for the developer
    (at /scim/, an RFC 7644 3.12 error)."""
    if is_scim_path(request.path):
        return scim_errors.for_status(400, description)
    if is_api_path(request.path):
        return _client_error(400, "invalid_request", description)
    return error_page(status, message)


def _answer(status: int, client_code: str | None = None):
    if status >= 500:
        discard_changes()
    if is_scim_path(request.path):
        return scim_errors.for_status(status)
    if is_api_path(request.path):
        return _client_error(status, client_code or _client_code(status))
    return error_page(status)


def unavailable_answer(client_code: str = "temporarily_unavailable") -> Response:
    """The 503 while Redis or the database is down: the Dutch page, or an RFC 6749 error."""
    discard_changes()
    g.signin = None  # the page shows nobody signed in: finding out needs what just failed
    if is_scim_path(request.path):
        return scim_errors.for_status(503)
    if is_api_path(request.path):
        return _client_error(503, client_code)
    return make_response(error_page(503, OUTAGE_MESSAGE))


def _route() -> str:
    """The URL pattern, never the path: an activation link's token is in its path."""
    return request.url_rule.rule if request.url_rule else "(no route)"


def init_errors(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_page(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error):
        response = _answer(error.code or 500)
        if isinstance(response, tuple):
            response = app.make_response(response)
        # RFC 9110 15.5.6: a 405 says which methods the page does take; a 429 or 503 may say
        # when to try again (10.2.3).
        headers = dict(error.get_headers())
        for name in ("Allow", "Retry-After"):
            if headers.get(name):
                response.headers[name] = headers[name]
        return response

    def store_down(error):
        log.warning("503, Redis unavailable on %s %s: %s", request.method, _route(),
                    outages.describe(error))
        with contextlib.suppress(*outages.DATABASE_DOWN):
            db.session.rollback()  # nothing of this request is kept
        return unavailable_answer()

    def database_down(error):
        log.warning("503, database unavailable on %s %s: %s", request.method, _route(),
                    outages.describe(error))
        with contextlib.suppress(*outages.DATABASE_DOWN):
            db.session.rollback()  # usually already gone with the connection
        return unavailable_answer(client_code="server_error")

    for kind in outages.STORE_DOWN:
        app.register_error_handler(kind, store_down)
    for kind in outages.DATABASE_DOWN:
        app.register_error_handler(kind, database_down)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, _route())
        return _answer(500)
