"""Request limits: a request too large, with too many, over-long or repeated parameters, or with
something other than a form where a form is expected, gets a clear 4xx (a Dutch page for people,
``invalid_request`` for programs), never a 500, and changes nothing.

Each test runs a table of cases against one signed-in parent (a world per case would cost
seconds each); ``case`` names the one that fails.
"""

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from idp.web import limits
from idp.web.forms import MAX_PASSWORD
from tests import pages
from tests.actors import Parent
from tests.security.cases import case
from tests.security.state import stored
from tests.test_oidc_flow import sign_in_at

TOO_MUCH = "U stuurde te veel of te lange gegevens mee."
REPEATED = "U stuurde hetzelfde gegeven meer dan één keer mee."
NOT_A_FORM = "Deze pagina verwerkt alleen een ingevuld formulier."
UNTRUSTED = "Ga terug naar die website en probeer het opnieuw."
FORM = "application/x-www-form-urlencoded"


def basic(rp) -> dict:
    raw = f"{rp.client_id}:{rp.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def query(response) -> dict:
    assert response.status_code == 302, response.status_code
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def page_text(response) -> str:
    return pages.text(response.get_data(as_text=True))


@pytest.fixture
def signed_in(world, app):
    """The parent signed in (an authorization answered), a refresh token that must keep working
    whatever is refused, and everything stored at that moment."""
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    return parent, rp, tokens, stored(app)


def assert_unchanged(app, before, parent, rp, tokens):
    assert stored(app) == before
    assert parent.browser.get("/").status_code == 200  # still signed in
    assert rp.refresh(tokens["refresh_token"]).status_code == 200  # still a valid token


# --- body size ---------------------------------------------------------------------------------
def test_a_body_over_64_kib_is_refused_with_413(client):
    for path in ("/token", "/revoke", "/introspect", "/userinfo", "/inloggen", "/activeren",
                 "/uitloggen", "/end_session"):
        with case(path):
            response = client.post(path, data={"x": "a" * (64 * 1024)})
            assert response.status_code == 413
            if response.is_json:
                assert response.get_json() == {"error": "invalid_request"}
            else:
                assert "U stuurde te veel gegevens mee." in page_text(response)


# --- number and length of parameters ------------------------------------------------------------
def test_too_many_parameters_are_refused(signed_in, app):
    parent, rp, tokens, before = signed_in
    many = {f"p{i}": "x" for i in range(limits.MAX_PARAMETERS)}
    with case("token"):
        token = rp.http.post("/token", headers=basic(rp), data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **many})
        assert token.status_code == 400 and token.get_json()["error"] == "invalid_request"
    with case("sign-in page"):
        page = parent.browser.post("/inloggen", data=many | {"y": "1"})
        assert page.status_code == 400 and TOO_MUCH in page_text(page)
    with case("authorize"):  # a trusted client and redirect URI: the error goes back there
        answer = query(parent.browser.get(rp.authorization_url(**many)))
        assert answer["error"] == "invalid_request" and answer["state"] == rp.state
    assert_unchanged(app, before, parent, rp, tokens)


def test_thirty_parameters_are_fine(world):
    parent, rp = world
    extra = {f"p{i}": "x" for i in range(limits.MAX_PARAMETERS - 8)}  # the request has eight
    response = parent.browser.get(rp.authorization_url(**extra))
    assert response.status_code == 200 and 'action="/inloggen?flow=' in response.get_data(as_text=True)


def test_a_nul_character_is_refused(world, app):
    # PostgreSQL text cannot hold NUL: a client_id or username with one failed the database
    # query (a 500, found by test_fuzz). No value of ours has one.
    parent, rp = world
    before = stored(app)
    with case("authorize, trusted client"):
        answer = query(parent.browser.get(rp.authorization_url(nonce="a\x00b")))
        assert answer["error"] == "invalid_request" and answer["state"] == rp.state
    with case("authorize, client_id"):
        response = parent.browser.get(rp.authorization_url(client_id="\x00"))
        assert response.status_code == 400 and UNTRUSTED in page_text(response)
    with case("token"):
        response = rp.http.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x",
                                                "client_id": "\x00"})
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    with case("sign-in"):
        fields = pages.form_fields(parent.browser.get("/inloggen").get_data(as_text=True))
        response = parent.browser.post("/inloggen", data={
            **fields, "organisation": "PO2806", "username": "Yvonne\x00", "password": "x" * 12})
        assert response.status_code == 400
        assert "Deze pagina kon niet worden verwerkt." in page_text(response)
    assert stored(app) == before


def test_raw_bytes_outside_ascii_in_a_query_string_are_read_as_percent_encoded(client):
    # werkzeug decoded the raw query string strictly: a 500 on every page, the error page too
    # (found by test_fuzz). gunicorn refuses such a request line itself; werkzeug's own
    # development server does not.
    raw = {"valid-utf8": ("geactiveerd=1&x=" + "é".encode().decode("latin-1"), 200),
           "not-utf8": ("flow=\xff\xfe", 400)}
    for name, (query_string, status) in raw.items():
        with case(name):
            response = client.get("/inloggen", environ_overrides={"QUERY_STRING": query_string})
            assert response.status_code == status


def test_an_overlong_parameter_is_refused(client):
    for name, params in {"value": {"token": "x" * (limits.MAX_VALUE + 1)},
                         "name": {"n" * (limits.MAX_NAME + 1): "1"}}.items():
        with case(name):
            response = client.post("/introspect", data=params)
            assert response.status_code == 400
            assert response.get_json()["error"] == "invalid_request"
            page = client.get("/end_session", query_string=params)
            assert page.status_code == 400 and TOO_MUCH in page_text(page)


# --- repeated parameters (RFC 6749 3.1) ---------------------------------------------------------
def test_a_repeated_parameter_at_the_token_endpoints_is_refused(signed_in, app):
    parent, rp, tokens, before = signed_in
    body = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"]),
            ("client_id", rp.client_id), ("scope", "openid")]
    for repeat in ("grant_type", "refresh_token", "client_id", "scope"):
        with case(f"token {repeat}"):
            twice = body + [(name, value) for name, value in body if name == repeat]
            response = rp.http.post("/token", headers=basic(rp), data=urlencode(twice),
                                    content_type=FORM)
            assert response.status_code == 400
            assert response.get_json() == {"error": "invalid_request",
                                           "error_description": f"repeated parameter: {repeat}"}
    with case("token, once in the query and once in the body"):
        response = rp.http.post("/token?grant_type=refresh_token", headers=basic(rp), data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    for path in ("/revoke", "/introspect"):
        with case(path):
            response = rp.http.post(path, headers=basic(rp), content_type=FORM, data=urlencode(
                [("token", tokens["refresh_token"]), ("token", "other")]))
            assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    with case("end_session"):
        hint = tokens["id_token"]
        response = parent.browser.get("/end_session?" + urlencode(
            [("id_token_hint", hint), ("id_token_hint", hint)]))
        assert response.status_code == 400 and REPEATED in page_text(response)
    assert_unchanged(app, before, parent, rp, tokens)


# At /authorize: with client_id and redirect_uri each once and trusted, back to the client with
# invalid_request (RFC 6749 4.1.2.1); if either is in doubt, the error page and no redirect.
REPEATED_AUTHORIZATION = {
    "client_id": False, "redirect_uri": False, "response_type": True, "scope": True,
    "state": True, "nonce": True, "code_challenge": True, "code_challenge_method": True,
    "prompt": True, "max_age": True, "login_hint": True, "ui_locales": True,
}


def test_a_repeated_authorization_parameter_is_refused(signed_in, app):
    parent, rp, tokens, before = signed_in
    for repeat, redirected in REPEATED_AUTHORIZATION.items():
        with case(repeat):
            url = rp.authorization_url(prompt="login", max_age="60", login_hint="x",
                                       ui_locales="en")
            value = parse_qs(urlsplit(url).query)[repeat][0]
            response = parent.browser.get(url + "&" + urlencode({repeat: value}))
            if redirected:
                answer = query(response)
                assert response.headers["Location"].startswith(rp.redirect_uri)
                assert answer["error"] == "invalid_request" and "code" not in answer
                # A repeated state is not sent back: which of the two would it be?
                assert answer.get("state") == (None if repeat == "state" else rp.state)
            else:
                assert response.status_code == 400 and "Location" not in response.headers
                assert UNTRUSTED in page_text(response)
    assert_unchanged(app, before, parent, rp, tokens)


# --- the authorization request's parameters -----------------------------------------------------
MALFORMED_AUTHORIZATION = {
    "state": {"state": "s" * 513},
    "nonce": {"nonce": "n" * 513},
    "scope": {"scope": "openid " + "x" * 520},
    "login_hint": {"login_hint": "h" * 257},
    "ui_locales": {"ui_locales": "nl " * 70},
    "code_challenge": {"code_challenge": "c" * 129},
    # max_age "²" and 5000 digits were a 500 for a signed-in parent: str.isdigit() let them
    # through to int(), which refuses them.
    "max_age-superscript": {"max_age": "\u00b2"},
    "max_age-5000-digits": {"max_age": "9" * 5000},
    "max_age-eleven-digits": {"max_age": "12345678901"},
    "max_age-negative": {"max_age": "-1"},
    "max_age-fraction": {"max_age": "1.5"},
    "max_age-word": {"max_age": "abc"},
    "max_age-empty": {"max_age": ""},
    # Authlib quotes response_type and redirect_uri into error descriptions, and raised on a
    # character RFC 6749 5.2 does not allow there (a 500, found by test_fuzz).
    "response_type-with-a-quote": {"response_type": 'code"'},
    "response_type-not-ascii": {"response_type": "cöde"},
    # An unknown prompt was ignored and a code issued.
    "prompt-unknown": {"prompt": "bogus"},
    "prompt-unknown-among-known": {"prompt": "login bogus"},
    "prompt-none-with-login": {"prompt": "none login"},
}


def test_a_malformed_authorization_parameter_goes_back_as_invalid_request(signed_in, app):
    parent, rp, tokens, before = signed_in
    for name, params in MALFORMED_AUTHORIZATION.items():
        with case(name):
            answer = query(parent.browser.get(rp.authorization_url(**params)))
            assert answer["error"] == "invalid_request" and "code" not in answer
            assert answer.get("state") == (None if "state" in params else rp.state)
    untrusted = {"client_id": {"client_id": "c" * 65},
                 "redirect_uri": {"redirect_uri": rp.redirect_uri + "?" + "x" * 2048},
                 "redirect_uri-with-a-quote": {"redirect_uri": rp.redirect_uri + '"'},
                 "redirect_uri-not-ascii": {"redirect_uri": rp.redirect_uri + "é"}}
    for name, params in untrusted.items():
        with case(name):
            response = parent.browser.get(rp.authorization_url(**params))
            assert response.status_code == 400 and "Location" not in response.headers
            assert UNTRUSTED in page_text(response)
    assert_unchanged(app, before, parent, rp, tokens)


def test_the_longest_state_and_nonce_come_back(world):
    parent, rp = world
    state, nonce = "s" * limits.AUTHORIZE_LIMITS["state"], "n" * limits.AUTHORIZE_LIMITS["nonce"]
    start = parent.browser.get(rp.authorization_url(state=state, nonce=nonce))
    rp.state, rp.nonce = state, nonce
    back = query(parent.sign_in(page=start))
    assert back["state"] == state
    tokens = rp.exchange(back["code"]).get_json()
    assert rp.validate_id_token(tokens["id_token"])["nonce"] == nonce


# --- only forms where forms are expected -------------------------------------------------------
# Each would be a valid refresh (and revocation) if it were read as a form.
NOT_FORMS = {
    "json": ("application/json", json.dumps({"grant_type": "refresh_token", "refresh_token": "{rt}",
                                             "token": "{rt}"})),
    "text": ("text/plain", "grant_type=refresh_token&refresh_token={rt}&token={rt}"),
    "xml": ("application/xml", "<grant_type>refresh_token</grant_type>"),
    "multipart": ("multipart/form-data; boundary=x", "".join(
        f'--x\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (("grant_type", "refresh_token"), ("refresh_token", "{rt}"),
                            ("token", "{rt}"))) + "--x--\r\n"),
    "no-type": (None, "grant_type=refresh_token&refresh_token={rt}&token={rt}"),
}


def test_a_body_that_is_not_a_form_is_refused(signed_in, app):
    parent, rp, tokens, before = signed_in
    for kind, (content_type, body) in NOT_FORMS.items():
        body = body.replace("{rt}", tokens["refresh_token"]).encode()
        for path in ("/token", "/revoke", "/introspect"):
            with case(f"{kind} at {path}"):
                response = rp.http.post(path, headers=basic(rp), data=body,
                                        content_type=content_type)
                assert response.status_code == 400
                assert response.get_json() == {
                    "error": "invalid_request",
                    "error_description": "the body must be application/x-www-form-urlencoded"}
        for path in ("/inloggen", "/activeren", "/uitloggen", "/end_session"):
            with case(f"{kind} at {path}"):
                response = parent.browser.post(path, data=body, content_type=content_type)
                assert response.status_code == 415 and NOT_A_FORM in page_text(response)
    assert_unchanged(app, before, parent, rp, tokens)


def test_json_is_not_a_sign_in_form_even_with_a_valid_csrf_token(world, app):
    # Flask-WTF reads a JSON body as form data: a number or an object as the username would
    # reach the database query. Pages take forms only.
    parent, _ = world
    fields = pages.form_fields(parent.browser.get("/inloggen").get_data(as_text=True))
    before = stored(app)
    for body in ({**fields, "organisation": "PO2806", "username": {"a": 1}, "password": 5},
                 {**fields, "organisation": ["PO2806"], "username": "Yvonne.testouder",
                  "password": "x"}):
        response = parent.browser.post("/inloggen", json=body)
        assert response.status_code == 415 and NOT_A_FORM in page_text(response)
    assert stored(app) == before


def test_a_form_with_a_charset_is_a_form(signed_in):
    parent, rp, tokens, _ = signed_in
    response = rp.http.post("/token", headers=basic(rp), content_type=FORM + "; charset=UTF-8",
                            data=urlencode({"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]}))
    assert response.status_code == 200
    # No body, no content type: the logout page answers itself (its form lacked the CSRF token).
    response = parent.browser.post("/uitloggen")
    assert response.status_code == 400 and NOT_A_FORM not in page_text(response)


# --- the fields of the parents' forms ---------------------------------------------------------
OVERLONG_FIELDS = {
    "username": ("u" * 151, 150), "password": ("p" * (MAX_PASSWORD + 1), MAX_PASSWORD),
    "organisation": ("O" * 33, 32), "code": ("123 4567", 6),  # spaces in a code do not count
}


def test_an_overlong_field_gets_a_dutch_message(world, app):
    parent, _ = world
    before = stored(app)
    for field, (value, maximum) in OVERLONG_FIELDS.items():
        with case(field):
            fields = pages.form_fields(parent.browser.get("/inloggen").get_data(as_text=True))
            fields.update(organisation="PO2806", username=parent.username, password="x" * 12,
                          code="123456")
            response = parent.browser.post("/inloggen", data={**fields, field: value})
            assert response.status_code == 400
            message = f"Dit is te lang: gebruik hoogstens {maximum} tekens."
            html = response.get_data(as_text=True)
            assert pages.field_errors(html) == {field: [message]}
            assert page_text(response).count(message) == 2  # and in the summary at the top
    assert stored(app) == before


def test_a_long_passphrase_is_welcome(app, make_org, invite, mailbox, frozen_clock):
    make_org()
    invite()
    parent = Parent(app.test_client(), mailbox)
    passphrase = "de fiets staat achter het station bij de grote boom " * 2  # 104 characters
    parent.activate(password=passphrase)
    assert parent.sign_in(password=passphrase).status_code == 302
    # Up to the limit the form lets it through: a wrong one is simply wrong.
    wrong = parent.sign_in(password="w" * MAX_PASSWORD)
    assert wrong.status_code == 400 and "klopt niet" in page_text(wrong)


# --- malformed client credentials -------------------------------------------------------------
MALFORMED_CREDENTIALS = {
    # Authlib decoded them as UTF-8 and let UnicodeDecodeError escape: a 500.
    "not-utf8": "Basic " + base64.b64encode(b"\xff\xfe:secret").decode(),
    # Authlib split "Basic " into one part where it expected two: a 500 (found by test_fuzz).
    "basic-and-nothing": "Basic ",
    "bearer-and-nothing": "Bearer ",
    # PostgreSQL text cannot hold NUL: the client query failed (a 500, found by test_fuzz).
    "nul-in-client-id": "Basic " + base64.b64encode(b"\x00:secret").decode(),
}


def test_malformed_client_credentials_are_invalid_client(client):
    for name, authorization in MALFORMED_CREDENTIALS.items():
        for path in ("/token", "/revoke", "/introspect"):
            with case(f"{name} at {path}"):
                response = client.post(path, headers={"Authorization": authorization}, data={
                    "grant_type": "refresh_token", "refresh_token": "x", "token": "x"})
                assert response.status_code == 401
                assert response.get_json()["error"] == "invalid_client"
                assert response.headers["WWW-Authenticate"].startswith("Basic ")
