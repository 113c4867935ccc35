"""Blueprints: thin URL tables that call the flows and the OAuth server."""

from flask import has_request_context, render_template, session
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from idp import sessions
from idp.extensions import csrf, db
from idp.models import Account

MESSAGES = {
    400: "Deze pagina kon niet worden verwerkt. Ga terug en probeer het opnieuw.",
    403: "U heeft geen toegang tot deze pagina.",
    404: "Deze pagina bestaat niet.",
    405: "Deze pagina kan zo niet worden gebruikt.",
    413: "U stuurde te veel gegevens mee.",
    429: "Te veel pogingen. Wacht even en probeer het dan opnieuw.",
    500: "Er ging iets mis aan onze kant. Probeer het later opnieuw.",
    503: "De dienst is even niet beschikbaar. Probeer het over een paar minuten opnieuw.",
}


def error_page(status: int, message: str | None = None):
    text = message or MESSAGES.get(status, MESSAGES[400])
    return render_template("errors/error.html", status=status, message=text), status


def init_web(app):
    from idp.web import account, activation, login, oauth

    for module in (oauth, activation, login, account):
        app.register_blueprint(module.bp)
    # Their FlaskForms check the CSRF token themselves and show a failure next to the form,
    # keeping what the parent typed (and the QR code) instead of an error page.
    csrf.exempt(activation.bp)
    csrf.exempt(login.bp)

    @app.context_processor
    def page_context():
        signin = sessions.load(session.get(sessions.BROWSER_KEY)) if has_request_context() else None
        return {
            "brand": app.config["IDP_BRAND"],
            "helpdesk_url": app.config["IDP_HELPDESK_URL"],
            "signed_in": db.session.get(Account, signin.account_id) if signin else None,
        }

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_page(
            400,
            "Deze pagina was verlopen of is al gebruikt. Laad de pagina opnieuw en probeer het nog eens.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        return error_page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error")
        return error_page(500)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
                "frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'",
            )
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Cache-Control", "no-store")
        return response
