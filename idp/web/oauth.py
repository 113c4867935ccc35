"""OpenID Connect endpoints: discovery, JWKS, authorization, token, userinfo, revocation,
introspection. (Logout is in ``end_session``.)"""

import hashlib
import json
import re
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.errors import LoginRequiredError
from flask import Blueprint, current_app, redirect, request, url_for

from idp import clock, i18n, keys, metrics, sessions
from idp.keys import schedule as key_schedule
from idp.extensions import csrf, db
from idp.flows import login as login_flow
from idp.models import Account
from idp.models.client import GRANT_TYPES
from idp.oauth import claims
from idp.oauth.grants import CLIENT_AUTH_METHODS
from idp.oauth.introspection import AUTH_METHODS as INTROSPECTION_AUTH_METHODS
from idp.oauth.server import server
from idp.web import authorization, login
from idp.web.authorization import AUTHORIZATION_ERROR_PAGE
from idp.web.errors import error_page

bp = Blueprint("oauth", __name__)
#: Where each app keeps its discovery document, serialized once (it depends on settings only).
DISCOVERY_KEY = "idp.discovery"
#: WSGI environ key: the error idp.web.documents met reading the JWKS for this request.
JWKS_UNREADABLE = "idp.jwks_unreadable"

#: RFC 6749 5.2 (and RFC 7636): the token endpoint's error codes, a bounded label set.
KNOWN_TOKEN_ERRORS = {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                      "unsupported_grant_type", "invalid_scope"}

#: OIDC Core 3.1.2.1 ``max_age``: seconds, a non-negative whole number (ten digits: 300 years).
MAX_AGE = re.compile(r"[0-9]{1,10}")
#: Longest ``state`` we send back (also idp.web.limits): a longer one is not echoed.
MAX_STATE = 512
#: A POSTed authorization request goes on as a GET: its path and query must fit the request
#: line a server accepts (gunicorn's ``limit_request_line``, 4094, less method and version).
MAX_LOCATION = 4000
#: Discovery's max-age: the document changes only with the settings, i.e. with a deployment.
DISCOVERY_MAX_AGE = 3600


@bp.get("/.well-known/openid-configuration")
def discovery():
    """OIDC Discovery 1.0 section 3. The document depends on settings only: it is made once per
    app and served as bytes, with a strong ETag so a relying party can revalidate for free."""
    body, etag = discovery_body_with_etag()
    response = current_app.response_class(body, mimetype="application/json")
    response.cache_control.public = True
    response.cache_control.max_age = DISCOVERY_MAX_AGE
    response.set_etag(etag)
    return conditional(response)


def conditional(response):
    """A 200 or, for a matching If-None-Match, a 304; without werkzeug's Date header, because
    the HTTP server sends its own (gunicorn always does) and a response carries one Date."""
    response = response.make_conditional(request)
    del response.headers["Date"]
    return response


def discovery_body_with_etag() -> tuple[bytes, str]:
    """The document as served (also by idp.web.documents), and its validator."""
    return current_app.extensions.get(DISCOVERY_KEY) or _discovery_document()


def _discovery_document() -> tuple[bytes, str]:
    issuer = current_app.config["IDP_ISSUER"]
    document = dict(
        issuer=issuer,
        authorization_endpoint=f"{issuer}/authorize",
        token_endpoint=f"{issuer}/token",
        userinfo_endpoint=f"{issuer}/userinfo",
        jwks_uri=f"{issuer}/jwks",
        revocation_endpoint=f"{issuer}/revoke",
        introspection_endpoint=f"{issuer}/introspect",
        end_session_endpoint=f"{issuer}/end_session",
        scopes_supported=list(claims.SCOPES_SUPPORTED),
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=list(GRANT_TYPES),
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=list(keys.SUPPORTED_ALGS),
        token_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        introspection_endpoint_auth_methods_supported=INTROSPECTION_AUTH_METHODS,
        backchannel_logout_supported=True,
        backchannel_logout_session_supported=True,
        frontchannel_logout_supported=False,
        code_challenge_methods_supported=["S256"],
        ui_locales_supported=list(i18n.SUPPORTED),
        claims_supported=[
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "acr", "org",
            "preferred_username", "name", "email", "email_verified",
        ],
        claims_parameter_supported=False,
        request_parameter_supported=False,
        request_uri_parameter_supported=False,
        authorization_response_iss_parameter_supported=True,  # RFC 9207
    )
    body = json.dumps(document, separators=(",", ":")).encode()
    made = body, hashlib.sha256(body).hexdigest()[:32]
    current_app.extensions[DISCOVERY_KEY] = made
    return made


@bp.get("/jwks")
def jwks():
    """RFC 7517 section 5. The max-age is the bound within which every worker uses a key change;
    a next key is published long enough before it signs that a cached copy always has it.
    The body is serialized once per key change (idp.keys), not per request."""
    unreadable = request.environ.get(JWKS_UNREADABLE)
    if unreadable is not None:
        raise unreadable  # idp.web.documents just tried: not a second read during an outage
    body, etag = keys.public_jwks_body_with_etag()
    response = current_app.response_class(body, mimetype="application/json")
    response.cache_control.public = True
    response.cache_control.max_age = key_schedule.cache_ttl(current_app.config)
    response.set_etag(etag)
    return conditional(response)


@bp.get("/authorize")
def authorize():
    """OIDC Core 3.1.2: with a live sign-in session, answer with a code; else the sign-in page,
    at once (200), its form posting to the flow that keeps this request. The page's POST then
    answers the request itself (``login._signed_in``): three requests per sign-in."""
    signin = sessions.current()
    account = db.session.get(Account, signin.account_id) if signin else None
    try:
        grant = server.get_consent_grant(end_user=account)
    except OAuth2Error as error:
        return authorization.refused(error)
    if account is None or _reauthentication_required(signin):
        if "none" in (request.args.get("prompt") or "").split():
            error = LoginRequiredError(redirect_uri=grant.redirect_uri)
            error.state = request.args.get("state")
            return server.handle_error_response(None, error)
        i18n.use_ui_locales(request.args.get("ui_locales"))
        query = request.query_string.decode()
        return login.page_for_flow(login_flow.start_flow(query), query)
    return authorization.issue_code(signin, account, grant)


@bp.post("/authorize")
@csrf.exempt  # a relying party's request, posted cross-site by design: not a form of ours
def authorize_by_post():
    """OIDC Core 3.1.2.1: the same request by POST (form serialization). It is answered with a
    303 to the GET request with the same parameters, which then does all the work: the same
    validation, errors and sign-in page by construction. Why not answer here: the browser
    sends the session cookie (SameSite=Lax) with a cross-site top-level POST never, with the
    GET it is sent on to always, so only there do we know whether the parent is signed in. The
    parameters were checked (idp.web.limits) before this runs; the sign-in page shown at that
    GET has them in its URL too."""
    location = url_for("oauth.authorize") + "?" + urlencode(list(request.values.items(multi=True)))
    if len(location) > MAX_LOCATION:
        return refuse_authorization_request("the request is too long to send on by GET")
    return redirect(location, 303)


def _reauthentication_required(signin) -> bool:
    """OIDC Core 3.1.2.1: ``prompt=login`` and ``max_age`` demand a fresh sign-in. (A sign-in
    made for a waiting request answers that request itself, so it never comes back here.)"""
    if "login" in (request.args.get("prompt") or "").split():
        return True
    max_age = request.args.get("max_age", "")
    # Not str.isdigit(): it accepts "²", which int() refuses (a 500 before this check).
    return bool(MAX_AGE.fullmatch(max_age)) and clock.now() - signin.auth_time > int(max_age)


def refuse_authorization_request(description: str):
    """An authorization request we will not handle (RFC 6749 4.1.2.1): ``invalid_request`` back
    to the redirect URI when ``client_id`` and ``redirect_uri`` are each given once and trusted;
    otherwise the parent stays here and sees the error page."""
    client_ids = request.values.getlist("client_id")  # values: the query, and a POST's form
    redirect_uris = request.values.getlist("redirect_uri")
    client = server.query_client(client_ids[0]) if len(client_ids) == 1 else None
    if client is None or len(redirect_uris) != 1 or not client.check_redirect_uri(redirect_uris[0]):
        current_app.logger.warning("authorization request refused: invalid_request %s", description)
        return error_page(400, AUTHORIZATION_ERROR_PAGE)
    error = InvalidRequestError(description, redirect_uri=redirect_uris[0])
    states = request.values.getlist("state")
    error.state = states[0] if len(states) == 1 and len(states[0]) <= MAX_STATE else None
    return server.handle_error_response(None, error)


@bp.post("/token")
@csrf.exempt
def token():
    response = server.create_token_response()
    if response.status_code == 200:
        # One commit per token response (tokens.save_token only adds): the consumed code or
        # refresh token and the new tokens are stored together, before the client has them.
        db.session.commit()
    if response.status_code >= 400:
        error = (response.get_json(silent=True) or {}).get("error", "unknown")
        metrics.TOKEN_ERRORS.labels(error if error in KNOWN_TOKEN_ERRORS else "other").inc()
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    return server.create_endpoint_response("userinfo")


@bp.post("/revoke")
@csrf.exempt
def revoke():
    return server.create_endpoint_response("revocation")


@bp.post("/introspect")
@csrf.exempt
def introspect():
    return server.create_endpoint_response("introspection")
