"""Single sign-on across relying parties, and the requests that demand a fresh sign-in
(OIDC Core 3.1.2.1: prompt and max_age)."""

import pytest

from idp import clock
from tests import pages
from tests.actors import RelyingParty
from tests.test_oidc_flow import assert_sign_in_page, sign_in_at


@pytest.fixture
def second_rp(world, make_client):
    parent, rp = world
    other = make_client(name="Zorgplan", redirect_uris=("https://zorgplan.test/cb",))
    return RelyingParty(rp.http, other["client_id"], other["client_secret"],
                        other["redirect_uri"])


def tokens_for(rp, response):
    tokens = rp.exchange(rp.callback_params(response)["code"]).get_json()
    return rp.validate_id_token(tokens["id_token"])


def test_second_client_gets_a_code_without_signing_in_again(world, second_rp):
    parent, rp = world
    first = rp.validate_id_token(rp.exchange(sign_in_at(rp, parent)["code"]).get_json()["id_token"])
    clock.advance(60)
    second = tokens_for(second_rp, parent.browser.get(second_rp.authorization_url()))
    assert (second["sub"], second["sid"], second["auth_time"]) == (
        first["sub"], first["sid"], first["auth_time"])


@pytest.mark.parametrize("params", [{"prompt": "login"}, {"max_age": "0"}, {"max_age": "30"}],
                         ids=["prompt-login", "max-age-0", "max-age-exceeded"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_fresh_sign_in_is_demanded_and_auth_time_moves(world, second_rp, params, method):
    parent, rp = world
    first = rp.validate_id_token(rp.exchange(sign_in_at(rp, parent)["code"]).get_json()["id_token"])
    clock.advance(60)
    start = assert_sign_in_page(second_rp.send_to_authorize(parent.browser, method, **params))
    signed_in = parent.sign_in(page=start)
    claims = tokens_for(second_rp, signed_in)
    assert claims["auth_time"] == first["auth_time"] + 60
    # The fresh sign-in served that one request only: the next prompt=login asks again.
    assert_sign_in_page(parent.browser.get(second_rp.authorization_url(prompt="login")))


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_max_age_not_exceeded_needs_no_sign_in(world, second_rp, method):
    parent, rp = world
    sign_in_at(rp, parent)
    clock.advance(60)
    response = second_rp.send_to_authorize(parent.browser, method, max_age="3600")
    assert "code" in second_rp.callback_params(response)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_prompt_none_with_a_session_answers_at_once(world, second_rp, method):
    parent, rp = world
    sign_in_at(rp, parent)
    response = second_rp.send_to_authorize(parent.browser, method, prompt="none")
    assert "code" in second_rp.callback_params(response)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_prompt_none_when_a_fresh_sign_in_is_needed_is_login_required(world, second_rp, method):
    parent, rp = world
    sign_in_at(rp, parent)
    clock.advance(60)
    response = second_rp.send_to_authorize(parent.browser, method, prompt="none", max_age="10")
    answer = second_rp.callback_params(response)
    assert answer["error"] == "login_required" and answer["state"] == second_rp.state


def test_an_earlier_sign_in_without_a_waiting_request_is_not_fresh(world, second_rp):
    parent, rp = world
    assert parent.sign_in().headers["Location"] == "/account"  # straight at /inloggen, no RP waiting
    clock.advance(60)
    assert_sign_in_page(parent.browser.get(second_rp.authorization_url(prompt="login")))


def test_login_hint_fills_in_the_username(world):
    parent, rp = world
    start = parent.browser.get(rp.authorization_url(login_hint="Yvonne.testouder"))
    page = start.get_data(as_text=True)
    assert pages.form_fields(page)["username"] == "Yvonne.testouder"
    # The flow's own page (after a reload or a mistake elsewhere) fills it in as well.
    at_flow = parent.browser.get(pages.forms(page)[0]["action"]).get_data(as_text=True)
    assert pages.form_fields(at_flow)["username"] == "Yvonne.testouder"
    without = parent.browser.get(rp.authorization_url())
    assert pages.form_fields(without.get_data(as_text=True))["username"] == ""
