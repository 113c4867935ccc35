"""Client credentials (RFC 6749 4.4): a program, such as the dossier's provisioning sync, gets a
token for itself: a JWT access token (RFC 9068) with sub = its client_id, its scope and the
organisation it is bound to (``org``: a code, or ``*`` for a service-wide client)."""

import json

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import Client
from tests.actors import RelyingParty


@pytest.fixture
def rp(client):
    return RelyingParty(client, "nobody")


def test_discovery_offers_the_grant(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert "client_credentials" in config["grant_types_supported"]
    assert "scim" in config["scopes_supported"]


@pytest.mark.parametrize("org, claim", [("PO2806", "PO2806"), (None, "*")],
                         ids=["bound", "service-wide"])
def test_the_token_names_the_client_its_scope_and_its_organisation(
        make_org, make_provisioner, rp, frozen_clock, org, claim):
    make_org()
    provisioner = make_provisioner(org=org)
    response = provisioner.token_response(scope=None)  # no scope: the registered one
    assert response.status_code == 200
    body = response.get_json()
    assert "refresh_token" not in body  # RFC 6749 4.4.3
    assert (body["token_type"], body["scope"], body["expires_in"]) == ("Bearer", "scim", 300)
    claims = rp.verify(body["access_token"], "at+jwt").claims
    assert claims["sub"] == claims["client_id"] == provisioner.client_id
    assert (claims["scope"], claims["org"]) == ("scim", claim)
    assert claims["aud"] == "http://idp.test/scim/v2" and claims["iss"] == "http://idp.test"
    assert "gid" not in claims


@pytest.mark.parametrize("how, status, error", [
    ("wrong secret", 401, "invalid_client"),
    ("a scope it was not given", 400, "invalid_scope"),
    ("its scope and more", 400, "invalid_scope"),
    ("a sign-in client", 400, "unauthorized_client"),
], ids=["wrong secret", "another scope", "more scope", "sign-in client"])
def test_refused_token_requests(make_org, make_provisioner, make_client, client, how, status,
                                error):
    make_org()
    provisioner = make_provisioner()
    if how == "wrong secret":
        response = provisioner.token_response(secret="not-the-secret")
    elif how == "a scope it was not given":
        response = provisioner.token_response(scope="openid")
    elif how == "its scope and more":
        response = provisioner.token_response(scope="scim openid")
    else:
        registered = make_client()
        provisioner.client_id, provisioner.client_secret = (registered["client_id"],
                                                            registered["client_secret"])
        response = provisioner.token_response()
    assert (response.status_code, response.get_json()["error"]) == (status, error)


def test_a_program_cannot_sign_parents_in(make_org, make_provisioner, client):
    make_org()
    provisioner = make_provisioner()
    response = client.get(f"/authorize?response_type=code&client_id={provisioner.client_id}"
                          "&redirect_uri=https://dossier.test/cb&scope=openid")
    assert response.status_code == 400


def test_its_token_is_not_a_parents_token(make_org, make_provisioner, client):
    make_org()
    token = make_provisioner().token()
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_cli_registers_a_bound_client_and_lists_it(app, runner, make_org):
    make_org()
    result = runner.invoke(args=["client", "add", "Dossier sync", "--grant", "client_credentials",
                                 "--scope", "scim", "--org", "PO2806", "--json"])
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert made["client_secret"]
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == made["client_id"]))
        assert client.grant_types == ("client_credentials",) and client.scope == "scim"
        assert client.organisation_id is not None and client.client_secret_hash != made["client_secret"]
    listed = runner.invoke(args=["client", "list"])
    assert f"{made['client_id']}\tDossier sync\tclient_credentials\tscim\tPO2806" in listed.output


@pytest.mark.parametrize("arguments, message", [
    (["--grant", "client_credentials"], "needs --scope"),
    (["--grant", "client_credentials", "--scope", "openid"], "not openid"),
    (["--grant", "client_credentials", "--scope", "scim", "--org", "NOPE"], "no organisation"),
    (["--grant", "client_credentials", "--scope", "scim", "--redirect-uri", "https://d.test/cb"],
     "signs nobody in"),
    (["--scope", "scim", "--redirect-uri", "https://d.test/cb"], "for --grant client_credentials"),
    ([], "Missing option '--redirect-uri'"),
], ids=["no scope", "parent scope", "unknown org", "redirect uri", "scope on sign-in client",
        "sign-in client without redirect uri"])
def test_cli_refuses_what_does_not_fit(runner, make_org, arguments, message):
    make_org()
    result = runner.invoke(args=["client", "add", "X", *arguments])
    assert result.exit_code != 0 and message in result.output


def test_the_client_may_introspect_its_own_token_and_no_other_client(
        make_org, make_provisioner, make_client, client, frozen_clock):
    make_org()
    provisioner = make_provisioner()
    token = provisioner.token()
    own = RelyingParty(client, provisioner.client_id, provisioner.client_secret)
    answer = own.introspect(token, hint="access_token").get_json()
    assert answer["active"] is True and answer["sub"] == provisioner.client_id
    assert (answer["scope"], answer["org"]) == ("scim", "PO2806")
    registered = make_client()
    other = RelyingParty(client, registered["client_id"], registered["client_secret"])
    assert other.introspect(token).get_json() == {"active": False}
    frozen_clock.advance(300)
    assert own.introspect(token).get_json() == {"active": False}
