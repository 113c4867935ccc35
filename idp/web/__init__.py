"""Blueprints: thin URL tables that call the flows and the OAuth server."""

from flask import g, request

from idp import sessions
from idp.extensions import csrf, db
from idp.models import Account
from idp.paths import is_api_path
from idp.web.errors import init_errors
from idp.web.hardening import init_hardening


def init_web(app):
    from idp.web import (account, activation, console, end_session, health, links, login,
                         oauth, scim, self_service)
    from idp.web.limits import init_limits
    from idp.web.request_class import Request
    from idp.web.trusted_host import init_trusted_host

    app.request_class = Request
    # First, so nothing else runs for a request for another host or beyond the limits.
    init_trusted_host(app)
    init_limits(app)
    for module in (health, oauth, end_session, activation, links, login, account, console,
                   self_service, scim):
        app.register_blueprint(module.bp)
    csrf.exempt(scim.bp)  # programs with bearer tokens: no cookies, nothing to forge
    # Their FlaskForms check the CSRF token themselves and show a failure next to the form,
    # keeping what the parent typed (and the QR code) instead of an error page.
    csrf.exempt(activation.bp)
    csrf.exempt(links.bp)
    csrf.exempt(login.bp)
    csrf.exempt(account.bp)
    csrf.exempt(self_service.bp)
    if app.config["IDP_DEMO_RP"]:
        from idp.web import demo

        app.register_blueprint(demo.bp)

    @app.before_request
    def count_parent_activity():
        """Any request of the parent's browser keeps the sign-in session alive."""
        if request.endpoint != "static" and not is_api_path(request.path):
            sessions.current()

    @app.context_processor
    def page_context():
        signin = g.get("signin")
        return {
            "brand": app.config["IDP_BRAND"],
            "helpdesk_url": app.config["IDP_HELPDESK_URL"],
            "signed_in": db.session.get(Account, signin.account_id) if signin else None,
        }

    health.init_request_metrics(app)
    init_errors(app)
    init_hardening(app)
