"""Security headers: every page a person sees (error pages, redirects and the language switch
included) may not be framed, runs no inline script, sniffs no types, leaks no URL in a Referer
and is never cached; token, introspection and userinfo answers are never cached either; HSTS
when the issuer is https."""

import re

import pytest

from idp.web.hardening import CSP_NOT_A_PAGE
from tests import pages
from tests.actors import RelyingParty
from tests.security.cases import case
from tests.test_oidc_flow import sign_in_at


def csp_directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def assert_page_headers(response):
    headers = response.headers
    directives = csp_directives(headers["Content-Security-Policy"])
    assert directives["script-src"] == "script-src 'self'"  # no 'unsafe-inline', no nonce
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["object-src"] == "object-src 'none'"
    assert directives["base-uri"] == "base-uri 'none'"
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def assert_no_inline_script(html: str):
    """What the CSP would block must not be on the page in the first place."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), "event handler attribute"
    assert not re.search(r"javascript:", html, flags=re.I)


def _sign_in_page_at_flow(parent, rp):
    """The sign-in page at the address its form posts to (after a reload or a mistake)."""
    page = parent.browser.get(rp.authorization_url())
    return parent.browser.get(pages.forms(page.get_data(as_text=True))[0]["action"])


# Every kind of page a person can get, each requested in the parent's browser.
PAGES = {
    "sign-in": lambda parent, rp: parent.browser.get(rp.authorization_url()),  # /authorize's page
    "sign-in-at-flow": _sign_in_page_at_flow,
    "sign-in-failed": lambda parent, rp: parent.sign_in(password="wrong password 123"),
    "sign-in-flow-expired": lambda parent, rp: parent.browser.get("/inloggen?flow=unknown"),
    "authorize-by-post": lambda parent, rp: parent.browser.post(
        rp.config["authorization_endpoint"], data=rp.authorization_params()),
    "authorize-error-page": lambda parent, rp: parent.browser.get(
        rp.authorization_url(client_id="no-such-client")),
    "activation-link": lambda parent, rp: parent.browser.get("/activeren/unknown-token"),
    "activation-problem": lambda parent, rp: parent.browser.get("/activeren"),
    "logout-confirm": lambda parent, rp: parent.browser.get("/uitloggen"),
    "end-session": lambda parent, rp: parent.browser.get("/end_session"),
    "home-redirect": lambda parent, rp: parent.browser.get("/"),
    "language-switch": lambda parent, rp: parent.browser.get("/inloggen?lang=en"),
    "404": lambda parent, rp: parent.browser.get("/no-such-page"),
    "405": lambda parent, rp: parent.browser.put("/inloggen"),
    "413": lambda parent, rp: parent.browser.post("/inloggen", data={"x": "a" * 70_000}),
    "400-csrf": lambda parent, rp: parent.browser.post("/uitloggen", data={"csrf_token": "forged"}),
    "400-limits": lambda parent, rp: parent.browser.post("/inloggen", data={"x": "a" * 9000}),
    "415-not-a-form": lambda parent, rp: parent.browser.post("/inloggen", json={"username": "x"}),
    # Last: it signs the parent in. The page's POST answering with the redirect to the RP.
    "sign-in-answers-the-relying-party": lambda parent, rp: parent.sign_in(
        page=parent.browser.get(rp.authorization_url())),
}


def test_every_page_has_the_security_headers(world):
    parent, rp = world
    for name, request in PAGES.items():
        with case(name):
            response = request(parent, rp)
            assert response.mimetype == "text/html", response.status_code
            assert_page_headers(response)
            assert "Strict-Transport-Security" not in response.headers  # http: embedded default
            assert_no_inline_script(response.get_data(as_text=True))


def test_pages_of_a_signed_in_parent_have_them_too(world):
    parent, rp = world
    parent.sign_in()
    for response in (parent.browser.get("/"), parent.browser.get("/uitloggen"),
                     parent.browser.get(rp.end_session_url(client_id=rp.client_id))):
        assert response.status_code == 200 and response.mimetype == "text/html"
        assert_page_headers(response)


def test_the_activation_page_has_them(app, make_org, invite, mailbox):
    from tests.actors import Parent

    make_org()
    invite()
    parent = Parent(app.test_client(), mailbox)
    link = parent.browser.get(parent.activation_link())
    page = parent.browser.get(link.headers["Location"])
    assert link.status_code == 302 and page.status_code == 200
    for response in (link, page):
        assert_page_headers(response)
    assert_no_inline_script(page.get_data(as_text=True))


def test_405_says_which_methods_the_page_takes(client):
    response = client.put("/inloggen")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


# --- programs: token, introspection, userinfo, revocation -------------------------------------
def test_token_responses_are_never_cached(world):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    responses = {
        "token": rp.exchange(code),
        "token-error": rp.exchange("not-a-code"),
    }
    tokens = responses["token"].get_json()
    fresh = rp.refresh(tokens["refresh_token"])
    access_token = fresh.get_json()["access_token"]
    responses.update({
        "refresh": fresh,
        "userinfo": rp.userinfo(access_token),
        "userinfo-error": rp.userinfo("not-a-token"),
        "introspection": rp.introspect(access_token),
        "introspection-error": rp.http.post("/introspect", data={"token": "x"}),
        "revocation": rp.revoke(fresh.get_json()["refresh_token"]),
        "limits-error": rp.http.post("/token", json={"grant_type": "refresh_token"}),
    })
    for name, response in responses.items():
        with case(name):
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Content-Security-Policy"] == CSP_NOT_A_PAGE


def test_discovery_and_jwks_may_be_cached_but_not_framed(client):
    for path in ("/.well-known/openid-configuration", "/jwks"):
        response = client.get(path)
        assert "public" in response.headers["Cache-Control"]
        assert csp_directives(response.headers["Content-Security-Policy"])["frame-ancestors"] \
            == "frame-ancestors 'none'"
        assert response.headers["X-Frame-Options"] == "DENY"


# --- https: HSTS -------------------------------------------------------------------------------
@pytest.mark.app_settings(IDP_ISSUER="https://idp.test")
def test_hsts_on_every_response_when_https(world, app):
    parent, _ = world
    rp_config = parent.browser.get("/.well-known/openid-configuration").get_json()
    assert rp_config["issuer"] == "https://idp.test"
    for response in (parent.browser.get("/inloggen"), parent.browser.get("/jwks"),
                     parent.browser.get("/healthz"), parent.browser.get("/no-such-page"),
                     parent.browser.post("/token", data={})):
        hsts = response.headers["Strict-Transport-Security"]
        max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
        assert max_age >= 365 * 24 * 3600 and "includeSubDomains" in hsts


@pytest.mark.app_settings(IDP_ISSUER="https://idp.test")
def test_the_whole_flow_works_on_https(world):
    parent, plain = world
    rp = RelyingParty(parent.browser, plain.client_id, plain.client_secret, plain.redirect_uri,
                      issuer="https://idp.test")
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    claims = rp.validate_id_token(tokens["id_token"], tokens["access_token"])
    assert claims["iss"] == "https://idp.test"
    assert "Uitloggen" in pages.text(parent.browser.get("/").get_data(as_text=True))

