"""The demo relying party at /demo/: a small OIDC client so `idp demo up` can be clicked through.

It behaves as a real relying party would (state, nonce, PKCE S256, ID token verified against the
JWKS), except that it reaches the token and userinfo endpoints in-process instead of over the
network. Registered only when ``IDP_DEMO_RP`` is on.
"""

import base64
import hashlib
import json
import secrets
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from werkzeug.test import Client as WsgiClient

from idp import clock, keys
from idp.extensions import db
from idp.models import Client
from idp.web.errors import error_page

bp = Blueprint("demo", __name__, url_prefix="/demo")

DEMO_CLIENT = "Demo dossier"  # the client `idp demo up` registers for this page
SESSION_KEY = "demo_rp"
SCOPE = "openid profile email"

NO_CLIENT = ("De demo-website is nog niet ingericht. Voer eerst het commando `idp demo up` uit "
             "en open deze pagina daarna opnieuw.")
UNKNOWN_ATTEMPT = ("Deze inlogpoging is niet bekend of is al gebruikt. Ga terug naar de "
                   "demo-website en klik opnieuw op Inloggen.")
CALLBACK_ERRORS = {
    "access_denied": "U heeft het inloggen afgebroken, of u kreeg geen toegang.",
    "login_required": "U bent niet ingelogd. Klik opnieuw op Inloggen.",
}
CALLBACK_ERROR = "Het inloggen is niet gelukt (foutcode: {error}). Klik opnieuw op Inloggen."
EXCHANGE_FAILED = "De inlogcode kon niet worden ingewisseld (foutcode: {error}). Klik opnieuw op Inloggen."
BAD_ID_TOKEN = "Het ID-token kon niet worden gecontroleerd ({error}). Klik opnieuw op Inloggen."
OTHER_ISSUER = ("Dit antwoord komt niet van de inlogdienst waar u naartoe werd gestuurd. "
                "Klik opnieuw op Inloggen.")


def _demo_client() -> Client | None:
    return db.session.scalar(select(Client).where(Client.name == DEMO_CLIENT))


def _redirect_uri() -> str:
    # Built from the issuer, like every other link of the service, and what seed() registered.
    return f"{current_app.config['IDP_ISSUER']}/demo/callback"


@bp.get("/")
def home():
    if _demo_client() is None:
        return error_page(404, NO_CLIENT)
    return render_template("demo/home.html")


@bp.get("/inloggen")
def start():
    """Send the browser to /authorize with a fresh state, nonce and PKCE challenge."""
    client = _demo_client()
    if client is None:
        return error_page(404, NO_CLIENT)
    pending = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
               "verifier": secrets.token_urlsafe(48)}
    session[SESSION_KEY] = pending
    digest = hashlib.sha256(pending["verifier"].encode()).digest()
    params = {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": _redirect_uri(),
        "scope": SCOPE, "state": pending["state"], "nonce": pending["nonce"],
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    return redirect(f"{current_app.config['IDP_ISSUER']}/authorize?{urlencode(params)}")


@bp.get("/callback")
def callback():
    client = _demo_client()
    if client is None:
        return error_page(404, NO_CLIENT)
    # One use only: a reloaded or replayed callback finds nothing pending.
    pending = session.pop(SESSION_KEY, None)
    # RFC 9207 2.4: the response, a code or an error, must name the provider we sent the
    # browser to (discovery says it always does): a mix-up with another one is refused.
    if request.args.get("iss") != current_app.config["IDP_ISSUER"]:
        return error_page(400, OTHER_ISSUER)
    error = request.args.get("error")
    if error:
        return error_page(400, CALLBACK_ERRORS.get(error, CALLBACK_ERROR.format(error=error)))
    if not pending or not secrets.compare_digest(request.args.get("state", ""), pending["state"]):
        return error_page(400, UNKNOWN_ATTEMPT)

    token_response = _call("POST", "/token", data={
        "grant_type": "authorization_code", "code": request.args.get("code", ""),
        "redirect_uri": _redirect_uri(), "client_id": client.client_id,
        "code_verifier": pending["verifier"],
    })
    tokens = token_response.get_json(silent=True) or {}
    if token_response.status_code != 200 or "id_token" not in tokens:
        return error_page(400, EXCHANGE_FAILED.format(error=tokens.get("error", token_response.status_code)))
    try:
        claims = _verify_id_token(tokens["id_token"], client.client_id, pending["nonce"])
    except JoseError as exc:
        return error_page(400, BAD_ID_TOKEN.format(error=exc.error))

    userinfo = _call("GET", "/userinfo",
                     headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return render_template("demo/callback.html", claims=claims,
                           userinfo=json.dumps(userinfo.get_json(silent=True), indent=2,
                                               ensure_ascii=False),
                           logout_url=_logout_url(tokens["id_token"]))


def _logout_url(id_token: str) -> str:
    """RP-initiated logout: back to the demo's home page afterwards (registered by seed())."""
    issuer = current_app.config["IDP_ISSUER"]
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": f"{issuer}/demo/",
              "state": secrets.token_urlsafe(8)}
    return f"{issuer}/end_session?{urlencode(params)}"


def _call(method: str, path: str, **kwargs):
    """A request to this app's own endpoint, as a separate HTTP request would be.

    A fresh app context gives the sub-request its own ``g`` and database session; without it
    Flask would reuse this request's. Works the same under gunicorn and in tests (no network,
    so no worry about the one-worker demo server calling itself).
    """
    app = current_app._get_current_object()
    with app.app_context():
        return WsgiClient(app).open(path, method=method, base_url=app.config["IDP_ISSUER"],
                                    **kwargs)


def _verify_id_token(id_token: str, client_id: str, nonce: str) -> dict:
    """OIDC Core 3.1.3.7: signature against the JWKS, then iss, aud, nonce and exp."""
    token = jwt.decode(id_token, KeySet.import_key_set(keys.public_jwks()),
                       algorithms=["RS256", "ES256"])
    registry = jwt.JWTClaimsRegistry(
        now=clock.timestamp,  # the service's clock, so frozen test time agrees with the tokens
        iss={"essential": True, "value": current_app.config["IDP_ISSUER"]},
        aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
    )
    registry.validate(token.claims)
    return token.claims
