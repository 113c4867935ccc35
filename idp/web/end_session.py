"""RP-Initiated Logout 1.0: a relying party sends the parent here to log out.

With a valid ``id_token_hint`` for the browser's current session the parent is logged out at
once; otherwise the parent confirms on a page first (with a CSRF token), so a link or an image
elsewhere cannot log anyone out. The parent is sent back to ``post_logout_redirect_uri`` only
when it exactly matches one registered for the client the request is from (with ``state``).
"""

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, redirect, render_template, request, session
from flask_babel import lazy_gettext as _l

from idp import sessions
from idp.extensions import csrf
from idp.oauth import id_token_hint
from idp.oauth.server import query_client
from idp.web.forms import ConfirmForm

bp = Blueprint("end_session", __name__)

#: The browser session keeps where to go after the parent confirms (already checked).
RETURN_KEY = "logout_return_to"

BAD_HINT = _l(
    "De website die u hierheen stuurde, gaf gegevens mee die niet kloppen. Daarom sturen wij u "
    "niet terug naar die website."
)
BAD_RETURN = _l(
    "De website die u hierheen stuurde, gaf een terugkeeradres mee dat wij niet kennen. Daarom "
    "sturen wij u niet terug naar die website."
)


def _check(params) -> tuple[dict | None, str | None, str | None]:
    """(valid hint claims or None, where to return or None, a problem for the parent or None)."""
    raw_hint = params.get("id_token_hint")
    hint = id_token_hint.verify(raw_hint) if raw_hint else None
    if raw_hint and hint is None:
        return None, None, BAD_HINT
    client_id = params.get("client_id")
    if hint is not None:
        if client_id and client_id not in hint["aud"]:
            return None, None, BAD_HINT
        client_id = client_id or hint["aud"][0]
    return_to = params.get("post_logout_redirect_uri")
    if not return_to:
        return hint, None, None
    client = query_client(client_id)
    if client is None or return_to not in client.post_logout_redirect_uris:
        return hint, None, BAD_RETURN
    state = params.get("state")
    if state:
        return_to = add_params_to_uri(return_to, [("state", state)])
    return hint, return_to, None


@bp.route("/end_session", methods=["GET", "POST"])
@csrf.exempt  # a relying party may POST the request (section 2); nothing ends without proof
def end_session():
    hint, return_to, problem = _check(request.values)
    signin = sessions.current()
    hinted_this_session = hint is not None and signin is not None and hint.get("sid") == signin.sid
    if problem is None and (signin is None or hinted_this_session):
        sessions.end_current()
        return redirect(return_to) if return_to else render_template("login/logged_out.html")
    session[RETURN_KEY] = return_to
    return _logged_out_or_confirm(signin, problem)


def _logged_out_or_confirm(signin, problem):
    status = 400 if problem else 200
    if signin is None:
        return render_template("login/logged_out.html", problem=problem), status
    return render_template("login/logout.html", form=ConfirmForm(), problem=problem), status
