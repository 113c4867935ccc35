"""Answering an authorization request (OIDC Core 3.1.2.5) once the parent is known: at
``/authorize`` with a live sign-in session, or in the sign-in page's POST for the request that
waited for that sign-in (its query kept in the login flow), without another trip through
``/authorize``. Authlib's code grant validates the request and issues the code either way."""

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Request

from idp import sessions
from idp.oauth.server import server
from idp.web.errors import error_page

AUTHORIZATION_ERROR_PAGE = _l(
    "De website die u naar deze inlogpagina stuurde, deed dat op een manier die wij niet "
    "vertrouwen. Ga terug naar die website en probeer het opnieuw."
)


def refused(error: OAuth2Error):
    """RFC 6749 4.1.2.1: back to a trusted redirect URI with the error, else our error page."""
    if error.redirect_uri:
        return server.handle_error_response(None, error)
    current_app.logger.warning("authorization request refused: %s %s", error.error, error.description)
    return error_page(400, AUTHORIZATION_ERROR_PAGE)


def issue_code(signin, account, grant):
    """The redirect to the relying party with a code for this sign-in session (Authlib's grant
    makes and stores the code: ``grants.AuthorizationCodeGrant.save_authorization_code``).
    ``grant``: validated by ``get_consent_grant`` in this request (``waiting_grant``, or
    ``/authorize`` itself), so not validated again."""
    sessions.add_client(signin, grant.client.client_id)
    return server.create_consented_response(grant, account)


def waiting_grant(query: str, account):
    """The request that waited for this sign-in (``query``), validated again as at
    ``/authorize`` (the client may have been disabled meanwhile): its grant, or the answer that
    refuses it. ``prompt=login`` and ``max_age`` are met by this very sign-in."""
    try:
        return server.get_consent_grant(request=_waiting_request(query), end_user=account), None
    except OAuth2Error as error:
        return None, refused(error)


def _waiting_request(query: str) -> FlaskOAuth2Request:
    """The waiting request as Authlib reads a GET to ``/authorize`` with that query."""
    return FlaskOAuth2Request(Request.from_values(
        path="/authorize", base_url=current_app.config["IDP_ISSUER"], query_string=query,
        method="GET"))
