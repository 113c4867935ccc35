"""Token introspection (RFC 7662): confidential clients ask about their own tokens; anything not
usable right now is ``{"active": false}`` and nothing else."""

import pytest

from idp import clock
from tests.actors import RelyingParty
from tests.test_oidc_flow import sign_in_at

INACTIVE = {"active": False}


@pytest.fixture
def signed_in(world):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    return parent, rp, tokens


def test_discovery_names_the_endpoint_for_confidential_clients(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert config["introspection_endpoint"] == "http://idp.test/introspect"
    assert "none" not in config["introspection_endpoint_auth_methods_supported"]


def test_an_active_access_token(signed_in):
    parent, rp, tokens = signed_in
    answer = rp.introspect(tokens["access_token"], "access_token").get_json()
    claims = rp.verify(tokens["access_token"], "at+jwt").claims
    assert answer["active"] is True
    for name in ("sub", "client_id", "scope", "exp", "iat", "jti", "iss", "org"):
        assert answer[name] == claims[name], name
    assert answer["token_type"] == "Bearer"


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
def test_an_active_refresh_token_whatever_the_hint(signed_in, hint):
    parent, rp, tokens = signed_in
    answer = rp.introspect(tokens["refresh_token"], hint).get_json()
    assert answer["active"] is True and answer["client_id"] == rp.client_id
    assert answer["sub"] == rp.verify(tokens["id_token"], "JWT").claims["sub"]


def test_tokens_whose_session_ended_are_inactive(signed_in):
    parent, rp, tokens = signed_in
    parent.log_out()
    assert rp.introspect(tokens["access_token"]).get_json() == INACTIVE
    assert rp.introspect(tokens["refresh_token"]).get_json() == INACTIVE


def test_tokens_of_a_session_that_expired_unnoticed_are_inactive(signed_in):
    parent, rp, tokens = signed_in
    clock.advance(601)  # nobody came back and no worker ran yet
    assert rp.introspect(tokens["refresh_token"]).get_json() == INACTIVE


def test_an_expired_access_token_is_inactive(signed_in):
    parent, rp, tokens = signed_in
    clock.advance(299)
    assert parent.browser.get("/").status_code == 200  # the session lives on
    assert rp.introspect(tokens["access_token"]).get_json()["active"] is True
    clock.advance(1)
    assert rp.introspect(tokens["access_token"]).get_json() == INACTIVE


def test_revoked_and_used_tokens_are_inactive(signed_in):
    parent, rp, tokens = signed_in
    new = rp.refresh(tokens["refresh_token"]).get_json()
    assert rp.introspect(tokens["refresh_token"]).get_json() == INACTIVE  # rotated away
    rp.revoke(new["refresh_token"])
    assert rp.introspect(new["access_token"]).get_json() == INACTIVE


def test_another_clients_token_is_inactive_for_this_client(signed_in, make_client):
    parent, rp, tokens = signed_in
    other = make_client(name="Zorgplan", redirect_uris=("https://zorgplan.test/cb",))
    other_rp = RelyingParty(rp.http, other["client_id"], other["client_secret"], other["redirect_uri"])
    assert other_rp.introspect(tokens["access_token"]).get_json() == INACTIVE
    assert other_rp.introspect(tokens["refresh_token"]).get_json() == INACTIVE


@pytest.mark.parametrize("token", ["", "garbage", "x" * 5000], ids=["empty", "garbage", "huge"])
def test_unknown_tokens_are_inactive(signed_in, token):
    parent, rp, tokens = signed_in
    assert rp.introspect(token).get_json() == INACTIVE


def test_clients_must_authenticate(signed_in, make_client):
    parent, rp, tokens = signed_in
    public = make_client(name="Publiek", redirect_uris=("https://app.test/cb",), public=True)
    as_public = RelyingParty(rp.http, public["client_id"], None, public["redirect_uri"])
    response = as_public.introspect(tokens["access_token"])
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    wrong = RelyingParty(rp.http, rp.client_id, "wrong-secret", rp.redirect_uri)
    assert wrong.introspect(tokens["access_token"]).status_code == 401
    anonymous = rp.http.post(rp.config["introspection_endpoint"], data={"token": "x"})
    assert anonymous.status_code == 401


def test_a_request_without_token_is_invalid(signed_in):
    parent, rp, tokens = signed_in
    response = rp._post_token_endpoint(rp.config["introspection_endpoint"], {})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
