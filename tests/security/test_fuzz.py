"""Random and malformed requests (hypothesis) at every endpoint and form: never a 5xx, and a
refused request changes nothing. Afterwards the parent is still signed in, the refresh token
still works and a pending activation link still activates.

Random: methods, paths, query strings and bodies (random, repeated and known parameter names;
huge, unicode, control-character and invalid UTF-8 values), content types, Authorization,
Cookie and X-Request-ID headers, with and without a valid CSRF token and session.

One app per test function; the examples of a test share it, so state built by an accepted
request (a sign-in flow, a code) is the baseline for the next. The run is derandomized (the
same examples every time, so CI is reproducible); set ``IDP_FUZZ_EXAMPLES`` to run more,
freshly random, examples locally.
"""

import base64
import os
import string
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests import pages
from tests.actors import Parent
from tests.security.state import stored
from tests.test_oidc_flow import sign_in_at

_DEEP = int(os.environ.get("IDP_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int):
    return settings(
        max_examples=_DEEP or examples, deadline=None, derandomize=not _DEEP, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


#: Every route with the methods it takes; now and then another method or path is tried.
ROUTES = [("GET", "/authorize"), ("POST", "/authorize"), ("POST", "/token"), ("POST", "/revoke"),
          ("POST", "/introspect"), ("GET", "/userinfo"), ("POST", "/userinfo"),
          ("GET", "/end_session"), ("POST", "/end_session"), ("GET", "/inloggen"),
          ("POST", "/inloggen"), ("GET", "/activeren"), ("POST", "/activeren"),
          ("GET", "/activeren/{token}"), ("GET", "/uitloggen"), ("POST", "/uitloggen"),
          ("GET", "/"), ("GET", "/jwks"), ("GET", "/.well-known/openid-configuration"),
          ("GET", "/healthz"), ("GET", "/readyz")]
OTHER_METHODS = ["HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "POST", "GET"]
NAMES = ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "prompt",
         "max_age", "login_hint", "ui_locales", "code_challenge", "code_challenge_method",
         "response_mode", "request", "request_uri", "grant_type", "code", "code_verifier",
         "refresh_token", "client_secret", "token", "token_type_hint", "access_token",
         "id_token_hint", "post_logout_redirect_uri", "flow", "lang", "csrf_token",
         "organisation", "username", "password", "password_again", "code", "geactiveerd"]
FORM = "application/x-www-form-urlencoded"
OTHER_CONTENT_TYPES = ["application/json", "text/plain", "multipart/form-data",
                       "multipart/form-data; boundary=x", "application/xml",
                       f"{FORM}; charset=latin-1", ""]


def header_value(text: str) -> str:
    """What HTTP carries in a header value: tab, visible ASCII and obs-text (latin-1)."""
    return "".join(c for c in text if c == "\t" or 0x20 <= ord(c) <= 0xFF and ord(c) != 0x7F)


HEADER_TEXT = st.text(max_size=80).map(header_value)


def text_values():
    return st.one_of(
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),  # unicode, surrogates out
        st.text(st.sampled_from(string.printable + "\x00\x01\x1b\x7f\u202e\ufeff"), max_size=30),
        st.sampled_from(["", " ", "none", "login", "none login", "consent", "openid",
                         "openid profile email offline_access", "S256", "plain", "code",
                         "token", "authorization_code", "refresh_token", "access_token",
                         "\u00b2", "-1", "1e9", "9" * 40, "0", "en", "nl", "PO2806",
                         "Yvonne.testouder", "https://dossier.test/callback",
                         "https://evil.test/", "//evil.test", "javascript:alert(1)",
                         "../../etc/passwd", "' OR 1=1 --", "<script>alert(1)</script>"]),
        st.integers(min_value=0, max_value=9000).map(lambda n: "x" * n),  # up to past the limit
    )


def known_values(world_values: list[str]):
    """Real identifiers and tokens of this world, so a request can get far enough to matter."""
    return st.sampled_from(world_values)


#: Logged as identifiers (idp.logs; the description of a refused authorization request), so
#: the log hygiene test would count a real token sent as one of these as a leak. It is not (the
#: service logs what it was sent as a client_id), so the world's secrets are not sent as them.
LOGGED_AS_IDENTIFIERS = {"client_id", "organisation", "redirect_uri"}


def unlogged(pairs, secrets):
    return [(name, "secret-kept-out" if name in LOGGED_AS_IDENTIFIERS and value in secrets
             else value) for name, value in pairs]


def parameters(values, secrets=()):
    name = st.one_of(st.sampled_from(NAMES), st.text(max_size=12), st.sampled_from(["", "a" * 80]))
    pairs = st.lists(st.tuples(name, values), max_size=36)
    return pairs.map(lambda drawn: unlogged(drawn, secrets))


def bodies(values, secrets):
    form = parameters(values, secrets).map(lambda pairs: urlencode(pairs).encode())
    return st.one_of(st.just(b""), form, st.binary(max_size=300),
                     parameters(values, secrets).map(lambda pairs: repr(dict(pairs)).encode()),
                     st.builds(lambda b: b"\xff\xfe" + b, st.binary(max_size=20)))


def headers(values, session_cookies: list[str]):
    authorization = st.one_of(
        st.just(None), values.map(lambda token: header_value(f"Bearer {token}")), HEADER_TEXT,
        st.binary(max_size=40).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
        st.sampled_from(["Bearer", "Basic", "Bearer  ", "Basic Og==", "Digest x", "Bearer a b"]),
    )
    cookie = st.one_of(st.just(None), HEADER_TEXT,
                       st.sampled_from(session_cookies).map(lambda sid: f"idp={sid}"),
                       HEADER_TEXT.map(lambda value: f"idp={value}"))
    return st.fixed_dictionaries({}, optional={
        "Authorization": authorization, "Cookie": cookie, "X-Request-ID": HEADER_TEXT,
        "Accept-Language": HEADER_TEXT, "Origin": HEADER_TEXT,
    }).map(lambda found: {k: v for k, v in found.items() if v is not None})


def refused(response) -> bool:
    return response.status_code >= 400 or "error=" in response.headers.get("Location", "")


def check(response, app, target):
    """Never a 5xx, never a stack trace; a refusal changes nothing."""
    # What the examples reached: pytest --hypothesis-show-statistics lists these.
    path = response.request.path
    path = "/activeren/<token>" if path.startswith("/activeren/") else path
    event(f"{response.request.method} {path} -> {response.status_code}")
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert b"Traceback" not in response.get_data()
    after = stored(app)
    if refused(response):
        assert after == target["stored"], "a refused request changed what is stored"
    target["stored"] = after  # what the next example starts from


# --- the world the examples run in ---------------------------------------------------------------
@pytest.fixture
def target(world, app, invite, mailbox):
    """A signed-in parent with tokens, a pending activation link, and an attacker's browser
    session (cookie and CSRF token) to replay in random requests."""
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    invite(username="Piet.testouder", email="piet@example.org", name="Piet Testouder")
    newcomer = Parent(app.test_client(), mailbox, username="Piet.testouder")
    link = newcomer.activation_link()
    attacker = app.test_client()
    csrf = pages.form_fields(attacker.get("/inloggen").get_data(as_text=True))["csrf_token"]
    # A relying party's request waiting in the attacker's session: its page's form posts there.
    flow = pages.forms(attacker.get(rp.authorization_url()).get_data(as_text=True))[0]["action"]
    attacker.get(link)  # the attacker's session holds the activation too: forms to fuzz
    sid = attacker.get_cookie("idp", domain="idp.test").value
    token = link.rsplit("/", 1)[1]
    values = [rp.client_id, rp.redirect_uri, rp.verifier, tokens["access_token"],
              tokens["refresh_token"], tokens["id_token"], csrf, token, sid]
    raw = app.test_client(use_cookies=False)  # every header, the Cookie too, is the example's
    yield {"parent": parent, "rp": rp, "tokens": tokens, "newcomer": newcomer, "token": token,
           "csrf": csrf, "sid": sid, "flow": urlsplit(flow).query, "values": values, "raw": raw, "stored": stored(app)}
    # Afterwards nothing that was refused has hurt anyone:
    assert parent.browser.get("/").status_code == 200, "the parent is no longer signed in"
    assert rp.refresh(tokens["refresh_token"]).status_code == 200, "the refresh token broke"
    assert newcomer.activate().status_code == 302, "the activation link broke"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@fuzz(examples=200)
@given(data=st.data())
def test_random_requests_at_every_endpoint(app, target, backend, data):
    values = st.one_of(text_values(), known_values(target["values"]))
    method, path = data.draw(st.sampled_from(ROUTES), "route")
    if data.draw(st.integers(0, 9), "another method or path?") == 0:
        method = data.draw(st.sampled_from(OTHER_METHODS), "method")
        path = data.draw(st.sampled_from(["/no-such-page", path + "/", path + "x"]), "path")
    path = path.replace("{token}", quote(data.draw(
        st.one_of(st.just(target["token"]), st.text(max_size=120)), "token"), safe=""))
    query = data.draw(st.one_of(parameters(values, target["values"]).map(urlencode),
                                st.binary(max_size=200).map(lambda raw: raw.decode("latin-1"))),
                      "query")
    body = b"" if method in ("GET", "HEAD") else data.draw(bodies(values, target["values"]), "body")
    content_type = FORM if data.draw(st.integers(0, 3), "a form?") else data.draw(
        st.sampled_from(OTHER_CONTENT_TYPES) | HEADER_TEXT, "content type")
    sent_headers = data.draw(headers(values, [target["sid"]]), "headers")
    response = target["raw"].open(
        path, method=method, data=body, headers=sent_headers,
        content_type=content_type or None, environ_overrides={"QUERY_STRING": query})
    check(response, app, target)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@fuzz(examples=150)
@given(data=st.data())
def test_random_authorization_requests_of_a_signed_in_parent(app, target, backend, data):
    """A valid request with random parameters changed, added, repeated or dropped, in the
    signed-in parent's browser: a code, a sign-in page or an error, never a 500."""
    rp, browser = target["rp"], target["parent"].browser
    values = st.one_of(text_values(), known_values(target["values"]))
    base = {"response_type": "code", "client_id": rp.client_id, "redirect_uri": rp.redirect_uri,
            "scope": "openid profile", "state": "s", "nonce": "n", "code_challenge_method": "S256",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}
    pairs = [(name, value) for name, value in base.items()
             if not data.draw(st.booleans() if name in ("scope", "nonce") else st.just(False))]
    changes = data.draw(st.lists(st.tuples(st.sampled_from(NAMES[:14]), values), max_size=6),
                        "changes")
    for name, value in unlogged(changes, target["values"]):
        if data.draw(st.booleans(), f"replace {name}"):
            pairs = [(n, v) for n, v in pairs if n != name]
        pairs.append((name, value))
    response = browser.get("/authorize?" + urlencode(pairs))
    check(response, app, target)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@fuzz(examples=150)
@given(data=st.data())
def test_random_form_submissions(app, target, backend, data):
    """The parents' forms with random fields, with and without the session's valid CSRF
    token: sign-in (also at a relying party's request waiting in the attacker's session),
    activation (the attacker holds the pending link), logout, end_session."""
    path = data.draw(st.sampled_from(["/inloggen", "/activeren", "/uitloggen", "/end_session"]))
    form_values = st.one_of(
        text_values(), known_values(target["values"]),
        st.sampled_from(["PO2806", "Yvonne.testouder", "Piet.testouder", "123456", "123 456",
                         "fietsen langs de maas 2026", "x" * 1025, "x" * 64]))
    fields = dict(unlogged(data.draw(st.lists(st.tuples(st.sampled_from(
        ["organisation", "username", "password", "password_again", "code", "id_token_hint",
         "post_logout_redirect_uri", "state", "client_id"]), form_values), max_size=8), "fields"),
        target["values"]))
    if data.draw(st.booleans(), "valid CSRF token"):
        fields["csrf_token"] = target["csrf"]
    query = data.draw(st.sampled_from(["", "flow=unknown", target["flow"], "lang=en",
                                       "geactiveerd=1"]), "query")
    response = target["raw"].post(f"{path}?{query}", data=fields,
                                  headers={"Cookie": f"idp={target['sid']}"})
    check(response, app, target)
