"""Authorization requests by POST (OIDC Core 3.1.2.1: "MUST support ... GET and POST"), as a
relying party's auto-submitted form sends them, and CSRF: the authorization request is not a
form of ours, every form of ours still wants its token.

The GET cases that POST shares (errors, prompt, max_age, the sign-in detour) are parametrized
over the method where they live: tests/test_oidc_flow.py, test_oidc_errors.py, test_sso.py."""

from urllib.parse import parse_qs, urlsplit

import pytest

from idp.paths import is_api_path
from idp.web.oauth import MAX_LOCATION
from tests import pages
from tests.test_languages import assert_sign_in_page
from tests.test_oidc_errors import redirect_error
from tests.test_oidc_flow import sign_in_at

ENDPOINT = "http://idp.test/authorize"


def cookies_set(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_post_is_sent_on_as_the_same_request_by_get(world):
    parent, rp = world
    params = rp.authorization_params(ui_locales="en", login_hint="Yvonne.testouder")
    posted = parent.browser.post(ENDPOINT, data=params)
    assert posted.status_code == 303
    location = urlsplit(posted.headers["Location"])
    assert location.path == "/authorize"
    assert {k: v[0] for k, v in parse_qs(location.query).items()} == params
    assert cookies_set(posted) == []  # the POST touches no session: the GET has the cookie


def test_signed_in_parent_gets_a_code_although_the_post_carried_no_cookie(world, app):
    """A browser sends the SameSite=Lax session cookie with a cross-site top-level POST never,
    with the GET of the 303 always: the signed-in parent is not asked to sign in again."""
    parent, rp = world
    sign_in_at(rp, parent)
    cross_site = app.test_client()  # the same browser, its cookie withheld from the POST
    posted = cross_site.post(ENDPOINT, data=rp.authorization_params(prompt="none"))
    assert posted.status_code == 303
    callback = rp.callback_params(parent.browser.get(posted.headers["Location"]))
    assert callback["state"] == rp.state
    tokens = rp.exchange(callback["code"]).get_json()
    assert rp.validate_id_token(tokens["id_token"], tokens["access_token"])["amr"] == ["pwd", "otp"]


def test_ui_locales_and_login_hint_by_post_reach_the_sign_in_page(world):
    parent, rp = world
    start = rp.send_to_authorize(parent.browser, "POST", ui_locales="en",
                                 login_hint="Yvonne.testouder")
    page = start.get_data(as_text=True)
    assert_sign_in_page(page, "en")
    assert pages.form_fields(page)["username"] == "Yvonne.testouder"


def test_id_token_hint_by_post(world):
    """A hint of ours is taken by POST as by GET; one that is too long is refused at once."""
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    answer = rp.callback_params(rp.send_to_authorize(parent.browser, "POST", prompt="none",
                                                     id_token_hint=tokens["id_token"]))
    assert "code" in answer
    refused = redirect_error(
        rp.send_to_authorize(parent.browser, "POST", id_token_hint="x" * 9000), rp)
    assert refused["error"] == "invalid_request" and refused["state"] == rp.state


REFUSED_AT_ONCE = {
    # idp.web.limits reads the form as it reads the query.
    "state-too-long": (lambda params: {**params, "state": "s" * 600}, None),
    "max-age-not-a-number": (lambda params: {**params, "max_age": "-1"}, "max_age"),
    "unknown-prompt": (lambda params: {**params, "prompt": "always"}, "prompt"),
    # Too long to go on as a GET, though each value is within its limit.
    "too-long-for-get": (lambda params: {**params, "login_hint": "h" * 250,
                                         "acr_values": "a" * 250, "id_token_hint": "t" * 4000},
                         "too long"),
}


@pytest.mark.parametrize("change, description", REFUSED_AT_ONCE.values(), ids=REFUSED_AT_ONCE.keys())
def test_a_post_beyond_the_limits_goes_back_with_invalid_request(world, change, description):
    parent, rp = world
    response = parent.browser.post(ENDPOINT, data=change(rp.authorization_params()))
    answer = redirect_error(response, rp)
    assert response.headers["Location"].startswith(rp.redirect_uri)
    assert answer["error"] == "invalid_request"
    assert description is None or description in answer["error_description"]


def test_a_parameter_in_both_query_and_form_is_refused(world):
    parent, rp = world
    response = parent.browser.post(f"{ENDPOINT}?scope=openid", data=rp.authorization_params())
    assert redirect_error(response, rp)["error"] == "invalid_request"


def test_a_post_that_is_not_a_form_is_refused(world):
    parent, rp = world
    response = parent.browser.post(ENDPOINT, json=rp.authorization_params())
    assert response.status_code == 415 and "Location" not in response.headers


def test_too_long_for_get_fits_what_gunicorn_accepts():
    # gunicorn's limit_request_line (4094) holds "GET ", the path and query, and " HTTP/1.1".
    assert MAX_LOCATION + len("GET  HTTP/1.1") <= 4094


# --- CSRF -------------------------------------------------------------------------------------
#: The endpoints that programs (and the relying parties' auto-submitted forms) POST to. Every
#: other POST is a form of ours and must carry its CSRF token.
RELYING_PARTY_POSTS = {"/authorize", "/token", "/userinfo", "/revoke", "/introspect",
                       "/end_session"}
#: Forms whose CSRF refusal needs more than a signed-in browser; tested where they live.
TESTED_ELSEWHERE = {
    "/activeren": "tests/test_activation.py, missing-csrf-token (an opened link)",
    "/herstellen": "tests/test_account_links.py (an opened reset link)",
    "/nieuwe-app": "tests/test_account_links.py (an opened new-app link)",
}


def test_every_form_of_ours_refuses_a_post_without_its_csrf_token(world, app):
    parent, rp = world
    parent.sign_in()
    forms = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "POST" in rule.methods and rule.rule not in RELYING_PARTY_POSTS
                    and not is_api_path(rule.rule)})  # programs' endpoints (SCIM) have no forms
    assert {"/inloggen", "/uitloggen", "/activeren"} <= set(forms)
    for path in set(forms) - set(TESTED_ELSEWHERE):
        response = parent.browser.post(path, data={})
        assert response.status_code == 400, path
        fields = {"csrf_token": "forged", "organisation": parent.org, "username": parent.username}
        assert parent.browser.post(path, data=fields).status_code == 400, path
    assert parent.browser.get("/").status_code == 200  # still signed in: nothing happened


def test_the_authorization_request_needs_no_csrf_token(world):
    parent, rp = world
    posted = parent.browser.post(ENDPOINT, data=rp.authorization_params())
    assert posted.status_code == 303
