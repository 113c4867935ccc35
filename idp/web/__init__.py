"""Blueprints: thin URL tables that call the flows and the OAuth server."""

from flask import g, request

from idp import logs, sessions
from idp.extensions import csrf, db
from idp.i18n import switch_language
from idp.models import Account
from idp.paths import is_api_path
from idp.web.errors import init_errors
from idp.web.hardening import security_headers_adder


def init_web(app):
    from idp.web import (account, activation, console, end_session, health, links, login,
                         oauth, scim, self_service)
    from idp.web.limits import check_request
    from idp.web.request_class import Request
    from idp.web.trusted_host import host_check

    app.request_class = Request
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

    def count_parent_activity():
        """Any request of the parent's browser keeps the sign-in session alive."""
        if request.endpoint != "static" and not is_api_path(request.path):
            sessions.current()

    # Flask calls every hook through ensure_sync, an inspection per hook per request: the
    # app's own checks are one hook, in this order. Before it run, as registered in create_app:
    # refuse_when_unreadable (idp.web.session_guard), then CSRF protection (Flask-WTF).
    checks = [check for check in (
        host_check(app),  # first of ours: nothing more for a request for another host
        check_request,  # idp.web.limits: nothing reads a request beyond the limits
        count_parent_activity,
        switch_language,  # idp.i18n: a redirect, so after the checks
    ) if check is not None]

    @app.before_request
    def check_every_request():
        for check in checks:
            answer = check()
            if answer is not None:
                return answer
        return None

    @app.context_processor
    def page_context():
        signin = g.get("signin")
        return {
            "brand": app.config["IDP_BRAND"],
            "helpdesk_url": app.config["IDP_HELPDESK_URL"],
            "signed_in": db.session.get(Account, signin.account_id) if signin else None,
        }

    init_errors(app)
    add_security_headers = security_headers_adder(app)

    # One hook after every response, in this order. The browser session is written before it
    # (idp.web.session_guard.persist, an after_this_request) so a failed write is a 503 that
    # still gets all of these.
    @app.after_request
    def finish_every_response(response):
        response = add_security_headers(response)  # idp.web.hardening
        response = health.observe(response)  # the latency metric
        return logs.finish(response)  # X-Request-ID (after the security headers), the log line
