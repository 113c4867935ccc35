"""What a relying party (or an attacker posing as one) gets when a request is wrong:
the RFC error code, and nothing issued or changed."""

import threading

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.extensions import db
from idp.models import Client, RefreshToken
from idp.models.authorization_code import AuthorizationCode
from idp.oauth.server import forget_client
from tests import pages
from tests.actors import RelyingParty
from tests.test_oidc_flow import sign_in_at


def issued_tokens(app) -> int:
    """Refresh tokens recorded: every token response of these clients makes one (access tokens
    are not stored, idp.oauth.tokens)."""
    with app.app_context():
        return db.session.scalar(select(func.count(RefreshToken.id)))


def redirect_error(response, rp) -> dict:
    """The error as the relying party reads it at its redirect URI (with RFC 9207's check)."""
    assert response.status_code == 302, response.status_code
    return rp.callback_params(response)


# --- the authorization request -------------------------------------------------------------
def test_a_client_disabled_while_the_parent_signs_in_gets_no_code(world, app):
    """The sign-in answers its waiting request only after validating it again, as /authorize
    would: a client disabled meanwhile gets no code, the parent our error page (signed in)."""
    parent, rp = world
    page = parent.browser.get(rp.authorization_url())
    with app.app_context():
        db.session.scalar(select(Client).where(Client.client_id == rp.client_id)).disabled_at = \
            clock.timestamp()
        db.session.commit()
        forget_client(rp.client_id)
    response = parent.sign_in(page=page)
    assert response.status_code == 400
    assert "Ga terug naar die website en probeer het opnieuw" in pages.text(
        response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count(AuthorizationCode.id))) == 0
    assert parent.browser.get("/").status_code == 200  # signed in all the same


@pytest.mark.parametrize("params, error", [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": "too-short"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "openid admin"}, "invalid_scope"),
], ids=["no-pkce", "plain-pkce", "pkce-method-missing", "bad-challenge", "implicit", "unknown-scope"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_authorization_request_returns_error_to_the_client(world, params, error, method):
    parent, rp = world
    response = rp.send_to_authorize(parent.browser, method, **params)
    answer = redirect_error(response, rp)
    assert response.headers["Location"].startswith(rp.redirect_uri)
    assert answer["error"] == error
    assert answer["state"] == rp.state


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.test/callback",
    "https://dossier.test/callback/extra",
    "https://dossier.test/callback?x=1",
    "https://DOSSIER.test/callback",
    "https://dossier.test:444/callback",
    None,
], ids=["foreign", "longer-path", "added-query", "other-case", "other-port", "missing"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unregistered_redirect_uri_never_redirects(world, redirect_uri, method):
    parent, rp = world
    rp.redirect_uri = redirect_uri
    response = rp.send_to_authorize(parent.browser, method)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Ga terug naar die website" in pages.text(response.get_data(as_text=True))


def test_unknown_client_gets_an_error_page(world):
    parent, rp = world
    rp.client_id = "no-such-client"
    response = parent.browser.get(rp.authorization_url())
    assert response.status_code == 400 and "Location" not in response.headers


def test_duplicate_parameters_are_refused(world):
    parent, rp = world
    url = rp.authorization_url() + "&scope=openid"
    response = parent.browser.get(url)
    # RFC 6749 3.1: which value would be trusted? Neither. The client and its redirect URI are
    # not in doubt, so the error goes back there (4.1.2.1); tests/security has every case.
    assert redirect_error(response, rp)["error"] == "invalid_request"
    assert response.headers["Location"].startswith(rp.redirect_uri)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_prompt_none_without_session_answers_login_required(world, method):
    parent, rp = world
    parent.browser.post("/uitloggen")  # (no session anyway) make sure nothing is signed in
    answer = redirect_error(rp.send_to_authorize(parent.browser, method, prompt="none"), rp)
    assert answer["error"] == "login_required"


# --- the token request: the code -----------------------------------------------------------
@pytest.mark.parametrize("verifier, description", [
    (None, "missing"),
    ("x" * 43, "wrong"),
    ("short", "malformed"),
], ids=["verifier-missing", "verifier-wrong", "verifier-malformed"])
def test_code_exchange_without_the_right_verifier_fails(world, app, verifier, description):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    response = rp.exchange(code, verifier=verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_request", "invalid_grant")
    assert issued_tokens(app) == 0
    # A failed attempt does not burn the code: the real client can still redeem it.
    assert rp.exchange(code).status_code == 200


def test_reused_code_fails_and_revokes_what_it_issued(world):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    first = rp.exchange(code).get_json()
    second = rp.exchange(code)
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"
    assert rp.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(first["access_token"]).status_code == 401


def test_expired_code_fails(world, app):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    clock.advance(61)
    response = rp.exchange(code)
    assert response.get_json()["error"] == "invalid_grant"
    assert issued_tokens(app) == 0


def test_code_is_bound_to_its_client_and_redirect_uri(world, make_client):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    other = make_client(name="Other", redirect_uris=("https://other.test/cb",))
    thief = RelyingParty(rp.http, other["client_id"], other["client_secret"], rp.redirect_uri)
    thief.verifier = rp.verifier
    assert thief.exchange(code).get_json()["error"] == "invalid_grant"
    rp.redirect_uri = "https://dossier.test/other"
    assert rp.exchange(code).get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("secret", ["wrong-secret", None], ids=["wrong-secret", "no-secret"])
def test_confidential_client_must_authenticate(world, secret):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    rp.client_secret = secret
    response = rp.exchange(code)
    assert response.status_code == 401 if secret else response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


def test_unsupported_grant_type(world):
    parent, rp = world
    response = rp._post_token_endpoint(rp.config["token_endpoint"],
                                       {"grant_type": "password", "username": "x"})
    assert response.get_json()["error"] == "unsupported_grant_type"


# Concurrency is proven on PostgreSQL, where several workers share rows.
@pytest.mark.parametrize("backend", ["postgres"])
def test_concurrent_redemptions_exactly_one_wins(world, app, backend):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    barrier = threading.Barrier(6)
    results = []

    def redeem():
        http = app.test_client()
        racer = RelyingParty(http, rp.client_id, rp.client_secret, rp.redirect_uri)
        racer.verifier = rp.verifier
        barrier.wait()
        results.append(racer.exchange(code).status_code)

    threads = [threading.Thread(target=redeem) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 400, 400, 400, 400, 400]


# --- the token request: refresh tokens -----------------------------------------------------
def test_refresh_token_of_another_client_fails(world, make_client):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    other = make_client(name="Other", redirect_uris=("https://other.test/cb",))
    thief = RelyingParty(rp.http, other["client_id"], other["client_secret"], other["redirect_uri"])
    assert thief.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_expired_refresh_token_fails(world):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    clock.advance(12 * 3600 + 1)
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


# Concurrency is proven on PostgreSQL, where several workers share rows.
@pytest.mark.parametrize("backend", ["postgres"])
def test_concurrent_refreshes_exactly_one_wins(world, app, backend):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    barrier = threading.Barrier(4)
    results = []

    def refresh():
        racer = RelyingParty(app.test_client(), rp.client_id, rp.client_secret, rp.redirect_uri)
        barrier.wait()
        results.append(racer.refresh(tokens["refresh_token"]).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 400, 400, 400]


# --- userinfo --------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer not-a-jwt", "Basic abc",
    "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.",
], ids=["missing", "empty", "garbage", "basic", "alg-none"])
def test_userinfo_refuses_anything_but_a_valid_token(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/userinfo", headers=headers)
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] in ("invalid_token", "missing_authorization",
                                             "unsupported_token_type", "invalid_request")


# --- robustness ------------------------------------------------------------------------------
def test_token_endpoint_errors_are_json_never_a_page(client):
    assert client.get("/token").get_json() == {"error": "invalid_request"}
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "x" * 5000})
    assert response.status_code in (400, 401) and response.is_json


def test_too_large_body_is_refused(client):
    response = client.post("/token", data={"grant_type": "refresh_token", "x": "a" * 70000})
    assert response.status_code == 413 and response.get_json() == {"error": "invalid_request"}
