"""Error answers: a page for people (Dutch, or the parent's language), an RFC 6749 error object
for clients.

Nothing internal reaches either: the detail goes to the log only.
"""

from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
CSRF_MESSAGE = _l(
    "Deze pagina was verlopen of is al gebruikt. Laad de pagina opnieuw en probeer het nog eens."
)
#: Endpoints whose callers are programs: they get JSON errors.
API_PATHS = ("/token", "/revoke", "/introspect", "/userinfo", "/jwks", "/.well-known/",
             "/healthz", "/readyz", "/metrics")


def error_page(status: int, message: str | None = None):
    text = message or MESSAGES.get(status, MESSAGES[400])
    return render_template("errors/error.html", status=status, message=text), status


def _client_error(status: int, description: str | None = None):
    code = "server_error" if status >= 500 else "invalid_request"
    if status == 503:
        code = "temporarily_unavailable"
    body = {"error": code, "error_description": description} if description else {"error": code}
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse(status: int, message: str | None = None, description: str | None = None):
    """A request we will not handle: for people a page with ``message`` and ``status``; for
    programs 400 ``invalid_request`` (RFC 6749 5.2) with ``description`` for the developer."""
    if request.path.startswith(API_PATHS):
        return _client_error(400, description)
    return error_page(status, message)


def _answer(status: int):
    if request.path.startswith(API_PATHS):
        return _client_error(status)
    return error_page(status)


def init_errors(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_page(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error):
        response = _answer(error.code or 500)
        if isinstance(response, tuple):
            response = app.make_response(response)
        # RFC 9110 15.5.6: a 405 says which methods the page does take.
        allow = dict(error.get_headers()).get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _answer(500)
