"""The whole path of the parent handbook, seen by a relying party: welcome e-mail, activation,
sign-in through an authorization request, tokens verified against the JWKS, userinfo,
refresh rotation and revocation."""

import pytest

from idp import clock
from tests import pages
from tests.actors import Parent, RelyingParty


def assert_sign_in_page(response):
    """``/authorize`` answered with the sign-in page itself, its form posting to the flow that
    keeps the request."""
    assert response.status_code == 200, response.headers.get("Location")
    assert (pages.forms(response.get_data(as_text=True))[0]["action"] or "").startswith(
        "/inloggen?flow="), pages.text(response.get_data(as_text=True))[:600]
    return response


def sign_in_at(rp, parent, method="GET", **auth_params):
    """Authorization request (a link, or a form POSTed) -> the sign-in page -> its POST answers
    with the redirect back to the RP, with a code."""
    start = assert_sign_in_page(rp.send_to_authorize(parent.browser, method, **auth_params))
    signed_in = parent.sign_in(page=start)
    assert signed_in.status_code == 302, pages.text(signed_in.get_data(as_text=True))[:600]
    return rp.callback_params(signed_in)


def test_discovery_names_what_a_relying_party_needs(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert config["issuer"] == "http://idp.test"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["response_types_supported"] == ["code"]
    assert config["authorization_response_iss_parameter_supported"] is True
    assert {"client_secret_basic", "client_secret_post", "none"} <= set(
        config["token_endpoint_auth_methods_supported"])
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                     "jwks_uri", "revocation_endpoint"):
        assert config[endpoint].startswith("http://idp.test/")


def test_jwks_publishes_only_public_keys(client):
    jwks = client.get("/jwks").get_json()
    assert {k["alg"] for k in jwks["keys"]} == {"RS256", "ES256"}
    for key in jwks["keys"]:
        assert key["kid"] and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_parent_signs_in_and_relying_party_trusts_the_tokens(world, app, method):
    parent, rp = world
    callback = sign_in_at(rp, parent, method)
    assert callback["state"] == rp.state

    response = rp.exchange(callback["code"])
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    assert callback["iss"] == "http://idp.test"  # RFC 9207 (rp.callback_params checks it too)
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 300

    claims = rp.validate_id_token(tokens["id_token"], tokens["access_token"])
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["org"] == "PO2806"
    assert claims["preferred_username"] == "Yvonne.testouder"
    assert claims["name"] == "Yvonne Testouder"
    assert claims["email"] == "yvonne@example.org" and claims["email_verified"] is True
    assert claims["sub"] != "Yvonne.testouder" and len(claims["sub"]) >= 20
    assert claims["sid"] and claims["acr"]
    assert claims["auth_time"] <= clock.timestamp()

    access = rp.verify(tokens["access_token"], "at+jwt").claims
    assert access["iss"] == "http://idp.test"
    assert access["sub"] == claims["sub"]
    assert access["client_id"] == rp.client_id and access["aud"] == rp.client_id
    assert access["scope"] == "openid profile email"
    assert access["org"] == "PO2806" and access["jti"]
    assert access["exp"] - access["iat"] == 300

    info = rp.userinfo(tokens["access_token"])
    assert info.status_code == 200
    assert info.get_json() == {
        "sub": claims["sub"], "org": "PO2806", "preferred_username": "Yvonne.testouder",
        "name": "Yvonne Testouder", "email": "yvonne@example.org", "email_verified": True,
    }


def test_scope_limits_the_claims(world):
    parent, rp = world
    callback = sign_in_at(rp, parent, scope="openid")
    tokens = rp.exchange(callback["code"]).get_json()
    claims = rp.validate_id_token(tokens["id_token"], tokens["access_token"])
    assert "email" not in claims and "preferred_username" not in claims
    assert rp.userinfo(tokens["access_token"]).get_json() == {"sub": claims["sub"], "org": "PO2806"}


def test_organisation_without_two_factor_gives_password_only_amr(
        app, client, mailbox, make_org, make_client, invite, frozen_clock):
    make_org(code="PO9999", name="PPO Proef", requires_2fa=False)
    registered = make_client()
    invite(org_code="PO9999", username="ouder")
    parent = Parent(client, mailbox, username="ouder", org="PO9999")
    parent.activate()
    rp = RelyingParty(client, registered["client_id"], registered["client_secret"],
                      registered["redirect_uri"])
    callback = sign_in_at(rp, parent)
    tokens = rp.exchange(callback["code"]).get_json()
    assert rp.validate_id_token(tokens["id_token"])["amr"] == ["pwd"]


def test_es256_client_gets_es256_id_token(app, client, mailbox, make_org, make_client, invite,
                                          frozen_clock):
    make_org()
    registered = make_client(alg="ES256")
    invite()
    parent = Parent(client, mailbox)
    parent.activate()
    rp = RelyingParty(client, registered["client_id"], registered["client_secret"],
                      registered["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    decoded = rp.verify(tokens["id_token"], "JWT")
    assert decoded.header["alg"] == "ES256"
    rp.validate_id_token(tokens["id_token"], tokens["access_token"])


def test_public_client_with_pkce_and_client_secret_post(app, client, mailbox, make_org,
                                                       make_client, invite, frozen_clock):
    make_org()
    public = make_client(name="App", public=True, redirect_uris=("http://127.0.0.1:8080/cb",))
    post = make_client(name="Tool", auth_method="client_secret_post",
                       redirect_uris=("https://tool.test/cb",))
    invite()
    parent = Parent(client, mailbox)
    parent.activate()
    public_rp = RelyingParty(client, public["client_id"], None, public["redirect_uri"])
    tokens = public_rp.exchange(sign_in_at(public_rp, parent)["code"])
    assert tokens.status_code == 200, tokens.get_json()
    public_rp.validate_id_token(tokens.get_json()["id_token"])

    post_rp = RelyingParty(client, post["client_id"], post["client_secret"], post["redirect_uri"],
                           auth_method="client_secret_post")
    # Single sign-on: the parent is signed in already, so the code comes straight back.
    back = parent.browser.get(post_rp.authorization_url())
    tokens = post_rp.exchange(post_rp.callback_params(back)["code"])
    assert tokens.status_code == 200, tokens.get_json()
    claims = post_rp.validate_id_token(tokens.get_json()["id_token"])
    assert claims["aud"] == [post["client_id"]]


def test_refresh_rotates_and_reuse_revokes_the_chain(world):
    parent, rp = world
    first = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()

    second = rp.refresh(first["refresh_token"])
    assert second.status_code == 200, second.get_json()
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert rp.verify(second["access_token"], "at+jwt").claims["sub"]

    reuse = rp.refresh(first["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    # The whole chain is revoked: the newest refresh token and its access token too.
    assert rp.refresh(second["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(second["access_token"]).status_code == 401


def test_revoking_a_refresh_token_ends_the_grant(world):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    response = rp.revoke(tokens["refresh_token"], hint="refresh_token")
    assert response.status_code == 200
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_revoking_an_access_token(world):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    assert rp.revoke(tokens["access_token"]).status_code == 200
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_revoking_an_unknown_or_foreign_token_is_a_quiet_no_op(world, make_client):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    other = make_client(name="Other", redirect_uris=("https://other.test/cb",))
    other_rp = RelyingParty(rp.http, other["client_id"], other["client_secret"],
                            other["redirect_uri"])
    assert other_rp.revoke(tokens["refresh_token"]).status_code == 200
    assert rp.revoke("no-such-token").status_code == 200
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_access_token_expires(world):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    clock.advance(301)
    assert rp.userinfo(tokens["access_token"]).status_code == 401
