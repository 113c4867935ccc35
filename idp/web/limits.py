"""Request limits: a request that is too large, has too many, over-long or repeated parameters,
or carries something other than a form where a form is expected, is refused before any view
runs and before anything is changed, with a 4xx that says so (a page for people,
``invalid_request`` for programs) (OWASP ASVS 5 V2.2.1, V4.2; RFC 6749 3.1).

The body size is ``MAX_CONTENT_LENGTH`` (idp/__init__.py): werkzeug answers 413 while reading.
The fields of the parents' forms have their own lengths (idp/web/forms.py).
"""

import re

from flask import request
from flask_babel import lazy_gettext as _l

from idp.i18n import MAX_UI_LOCALES
from idp.oauth.id_token_hint import LONGEST_HINT
from idp.paths import is_scim_path
from idp.web.errors import refuse
from idp.web.oauth import MAX_AGE, MAX_STATE, refuse_authorization_request

#: Query and form together; the largest request we expect (an authorization request with every
#: option) has about fifteen.
MAX_PARAMETERS = 30
MAX_NAME = 64
#: Any single value; the longest we take is an ``id_token_hint``.
MAX_VALUE = LONGEST_HINT
#: RFC 6749 3.1: "Request and response parameters MUST NOT be included more than once"; here
#: query and body count together, as Authlib reads them together.
SINGLE_VALUED = {"/authorize", "/token", "/revoke", "/introspect", "/userinfo", "/end_session"}
FORM = "application/x-www-form-urlencoded"
#: The only pages that take a file (multipart/form-data), and the most each may receive: the
#: console's CSV import (idp/web/console/imports.py; 50,000 rows of ~100 bytes).
UPLOADS = {"/beheer/ouders/importeren": 8 * 1024 * 1024}
#: The authorization request (OIDC Core 3.1.2.1): the longest sensible value of each parameter.
AUTHORIZE_LIMITS = {
    "client_id": 64,  # Client.client_id
    "redirect_uri": 2048,
    "scope": 512,
    "state": MAX_STATE,
    "nonce": 512,
    "response_type": 64,
    "response_mode": 32,
    "code_challenge": 128,  # RFC 7636 4.1
    "code_challenge_method": 16,
    "login_hint": 256,
    "ui_locales": MAX_UI_LOCALES,
    "prompt": 64,
    "max_age": 10,
    "display": 32,
    "acr_values": 256,
    "id_token_hint": LONGEST_HINT,
}
#: OIDC Core 3.1.2.1; "none" only on its own (Authlib checks that).
PROMPTS = {"none", "login", "consent", "select_account"}
#: RFC 6749 A.3 and A.6 (a URI, RFC 3986 2). Authlib quotes both in its error descriptions,
#: and fails (a 500) on a character RFC 6749 5.2 does not allow there.
SYNTAX = {
    "response_type": re.compile(r"[A-Za-z0-9_]+( [A-Za-z0-9_]+)*"),
    "redirect_uri": re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+"),
}
#: RFC 6749 5.2: what an error_description may hold.
_NOT_IN_DESCRIPTION = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')

TOO_MUCH = _l("U stuurde te veel of te lange gegevens mee. Ga terug en probeer het opnieuw.")
REPEATED = _l("U stuurde hetzelfde gegeven meer dan één keer mee. Ga terug en probeer het opnieuw.")
NOT_A_FORM = _l(
    "Deze pagina verwerkt alleen een ingevuld formulier. Ga terug en probeer het opnieuw."
)


def check_request():
    """None when the request is within limits, else the answer that refuses it. A
    before-request check, run by idp.web's one hook right after the Host check."""
    if request.routing_exception is not None or request.endpoint == "static":
        return None  # a 404 or 405 answers for itself
    if request.method != "POST" and not request.query_string:
        return None  # no parameter, no body to judge: every check below passes
    # SCIM takes JSON bodies and reads them itself (idp.scim.users: type, size, syntax).
    if (request.method == "POST" and upload_limit(request) is None and not _is_form()
            and not is_scim_path(request.path)):
        return refuse(415, NOT_A_FORM, f"the body must be {FORM}")
    parameters = list(request.args.items(multi=True))
    if request.method == "POST":
        parameters += list(request.form.items(multi=True))
    problem = _too_much(parameters)
    if problem:
        return _refuse(problem, TOO_MUCH)
    if any("\x00" in name or "\x00" in value for name, value in parameters):
        # No value of ours has one, and PostgreSQL text cannot hold it (a query would fail).
        return _refuse("NUL character in a parameter", None)
    if request.path in SINGLE_VALUED:
        names = [name for name, _ in parameters]
        if len(set(names)) < len(names):
            repeated = sorted({name for name in names if names.count(name) > 1})
            return _refuse(f"repeated parameter: {_described(', '.join(repeated))}", REPEATED)
    if request.path == "/authorize":
        problem = _authorization_problem(request.values)  # the query, or a POST's form too
        if problem:
            return refuse_authorization_request(problem)
    return None


def upload_limit(incoming) -> int | None:
    """The body size a file upload to this path may have; None where no file is taken. Set on
    the request as it is made (idp.web.request_class), before anything reads the form."""
    if incoming.method == "POST" and incoming.mimetype == "multipart/form-data":
        return UPLOADS.get(incoming.path)
    return None


def _is_form() -> bool:
    """RFC 6749 3.2, RFC 7009 2.1, RFC 7662 2.1 and every page of ours: a POST body is a form.
    An empty POST without a content type (a button without fields) is one too."""
    if request.mimetype == FORM:
        return True
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "")
    return not request.mimetype and not request.content_length and not chunked


def _too_much(parameters: list[tuple[str, str]]) -> str | None:
    if len(parameters) > MAX_PARAMETERS:
        return f"more than {MAX_PARAMETERS} parameters"
    for name, value in parameters:
        if len(name) > MAX_NAME or len(value) > MAX_VALUE:
            return f"parameter too long: {_described(name[:MAX_NAME])}"
    return None


def _described(name: str) -> str:
    """A parameter name as an error_description may quote it."""
    return _NOT_IN_DESCRIPTION.sub("?", name)


def _refuse(description: str, message):
    if request.path == "/authorize":
        return refuse_authorization_request(description)
    return refuse(400, message, description)


def _authorization_problem(args) -> str | None:
    for name, longest in AUTHORIZE_LIMITS.items():
        if len(args.get(name, "")) > longest:
            return f"{name} is too long (at most {longest} characters)"
    for name, syntax in SYNTAX.items():
        if name in args and not syntax.fullmatch(args[name]):
            return f"{name} is malformed"
    if "max_age" in args and not MAX_AGE.fullmatch(args["max_age"]):
        return "max_age must be a whole number of seconds"
    prompts = set(args.get("prompt", "").split())
    if prompts - PROMPTS:
        return f"prompt may only hold {', '.join(sorted(PROMPTS))}"
    return None

