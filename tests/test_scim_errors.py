"""SCIM refusals, by hand-written requests: every bad input gets an RFC 7644 3.12 error body
(``schemas``, ``status``, ``scimType``, ``detail``) with a 4xx, never a 500, and changes nothing.
Also who may call: a client's own token with the ``scim`` scope, and nothing else."""

import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from idp import clock, keys
from idp.extensions import db
from idp.models import Account, Client
from idp.oauth import tokens
from tests.actors import Parent
from tests.secrets_seen import remember
from tests.test_oidc_flow import sign_in_at

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EXT = "urn:ppo:params:scim:schemas:extension:ouderportaal:2.0:User"
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Ouder.een",
        "emails": [{"value": "een@example.org", "primary": True}], "externalId": "d-1"}


@pytest.fixture
def dossier(app, make_org, make_provisioner, frozen_clock):
    make_org()
    provisioner = make_provisioner()
    provisioner.bearer = provisioner.token()
    made = provisioner.call("POST", "/Users", token=provisioner.bearer, json=USER)
    assert made.status_code == 201, made.get_json()
    provisioner.existing = made.get_json()["id"]
    return provisioner


def scim_error(response, status, scim_type=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type, body
    return body


def accounts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Account))


def patch(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


# (id, method, path, keyword arguments, status, scimType); "{id}" is the existing User.
CASES = [
    ("filter syntax", "GET", "/Users?filter=userName%20eq", {}, 400, "invalidFilter"),
    ("filter unknown attribute", "GET", "/Users?filter=title%20eq%20%22x%22", {}, 400, "invalidFilter"),
    ("filter unsupported operator", "GET", "/Users?filter=userName%20gt%20%22a%22", {}, 400, "invalidFilter"),
    ("filter wrong value type", "GET", "/Users?filter=active%20eq%20%22yes%22", {}, 400, "invalidFilter"),
    ("filter empty", "GET", "/Users?filter=%20", {}, 400, "invalidFilter"),
    ("filter too long", "GET", "/Users?filter=" + "(" * 3000 + "userName%20pr" + ")" * 3000, {},
     400, "invalidFilter"),
    ("filter deep", "GET", "/Users?filter=" + "not(" * 200 + "userName%20pr" + ")" * 200, {}, 400,
     "invalidFilter"),
    ("filter NUL", "GET", "/Users?filter=userName%20eq%20%22%00%22", {}, 400, None),
    ("count not a number", "GET", "/Users?count=veel", {}, 400, "invalidValue"),
    ("startIndex huge", "GET", "/Users?startIndex=99999999999999999999", {}, 400, "invalidValue"),
    ("malformed JSON", "POST", "/Users", {"data": "{", "content_type": "application/scim+json"},
     400, "invalidSyntax"),
    ("not UTF-8", "POST", "/Users", {"data": b"\xff\xfe", "content_type": "application/scim+json"},
     400, "invalidSyntax"),
    ("JSON not an object", "POST", "/Users", {"json": [USER]}, 400, "invalidSyntax"),
    ("wrong content type", "POST", "/Users", {"data": json.dumps(USER), "content_type": "text/plain"},
     415, None),
    ("form body", "POST", "/Users", {"data": {"userName": "x"}}, 415, None),
    ("body over the limit", "POST", "/Users",
     {"data": json.dumps({**USER, "displayName": "x" * 70_000}), "content_type": "application/json"},
     413, None),
    ("unknown attribute", "POST", "/Users", {"json": {**USER, "userName": "b", "shoeSize": 42}},
     400, "invalidSyntax"),
    ("no userName", "POST", "/Users", {"json": {k: v for k, v in USER.items() if k != "userName"}},
     400, "invalidValue"),
    ("no e-mail", "POST", "/Users", {"json": {**USER, "userName": "b", "externalId": "b",
                                              "emails": []}}, 400, "invalidValue"),
    ("bad e-mail", "POST", "/Users", {"json": {**USER, "userName": "b", "externalId": "b",
                                               "emails": [{"value": "geen-adres"}]}}, 400, "invalidValue"),
    ("space in userName", "POST", "/Users", {"json": {**USER, "userName": "Ouder twee",
                                                      "externalId": "b"}}, 400, "invalidValue"),
    ("another organisation", "POST", "/Users",
     {"json": {**USER, "userName": "c", "externalId": "c", "schemas": [*USER["schemas"], EXT],
               EXT: {"organisation": "PO9999"}}}, 403, None),
    ("NUL in a value", "POST", "/Users", {"json": {**USER, "userName": "a\x00b"}}, 400, "invalidValue"),
    ("name too long", "POST", "/Users", {"json": {**USER, "userName": "d", "externalId": "d",
                                                  "displayName": "x" * 201}}, 400, "invalidValue"),
    ("duplicate userName", "POST", "/Users", {"json": {**USER, "externalId": "other"}}, 409, "uniqueness"),
    ("duplicate externalId", "POST", "/Users", {"json": {**USER, "userName": "Ander"}}, 409, "uniqueness"),
    ("patch read-only", "PATCH", "/Users/{id}",
     {"json": patch({"op": "replace", "path": f"{EXT}:invitationState", "value": "activated"})},
     400, "mutability"),
    ("patch immutable organisation", "PATCH", "/Users/{id}",
     {"json": patch({"op": "replace", "path": f"{EXT}:organisation", "value": "PO9999"})},
     400, "mutability"),
    ("patch unknown path", "PATCH", "/Users/{id}",
     {"json": patch({"op": "replace", "path": "shoeSize", "value": 42})}, 400, "invalidPath"),
    ("patch no target", "PATCH", "/Users/{id}",
     {"json": patch({"op": "replace", "path": 'emails[value eq "x@y.nl"].value', "value": "a@b.nl"})},
     400, "noTarget"),
    ("patch bad op", "PATCH", "/Users/{id}", {"json": patch({"op": "move", "path": "userName"})},
     400, "invalidValue"),
    ("patch remove e-mail", "PATCH", "/Users/{id}",
     {"json": patch({"op": "remove", "path": "emails"})}, 400, "invalidValue"),
    ("patch resend after activation is fine before", "PATCH", "/Users/{id}",
     {"json": patch({"op": "replace", "path": "active", "value": "maybe"})}, 400, "invalidValue"),
    ("put without userName", "PUT", "/Users/{id}",
     {"json": {k: v for k, v in USER.items() if k != "userName"}}, 400, "invalidValue"),
    ("id not ours", "GET", "/Users/2b5c1f0e-0000-4000-8000-000000000000", {}, 404, None),
    ("id with odd characters", "GET", "/Users/%00%ff", {}, 404, None),
    ("patch unknown id", "PATCH", "/Users/unknown", {"json": patch()}, 404, None),
    ("delete unknown id", "DELETE", "/Users/unknown", {}, 404, None),
    ("Groups", "GET", "/Groups", {}, 404, None),
    ("Bulk", "POST", "/Bulk", {"json": {}}, 404, None),
    ("method not allowed", "DELETE", "/Users", {}, 405, None),
    ("schema not ours", "GET", "/Schemas/urn:x", {}, 404, None),
]


@pytest.mark.parametrize("method, path, kwargs, status, scim_type",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_gets_an_rfc_7644_error_and_changes_nothing(
        app, dossier, method, path, kwargs, status, scim_type):
    before = accounts(app)
    with app.app_context():
        version = db.session.scalar(select(Account.version).where(Account.subject == dossier.existing))
    response = dossier.call(method, path.replace("{id}", dossier.existing), token=dossier.bearer,
                            **kwargs)
    scim_error(response, status, scim_type)
    assert accounts(app) == before
    with app.app_context():
        assert db.session.scalar(
            select(Account.version).where(Account.subject == dossier.existing)) == version


def test_read_only_attributes_in_a_create_are_ignored(dossier):
    """RFC 7643 2.2: readOnly values a client sends are ignored, not refused."""
    response = dossier.call("POST", "/Users", token=dossier.bearer, json={
        **USER, "id": "mine", "userName": "Ouder.twee", "externalId": "d-2",
        "emails": [{"value": "twee@example.org"}],
        "schemas": [*USER["schemas"], EXT], EXT: {"invitationState": "activated"}})
    assert response.status_code == 201
    created = response.get_json()
    assert created["id"] != "mine" and created[EXT]["invitationState"] == "pending"


def test_an_address_stored_by_other_means_is_still_shown(app, dossier, invite):
    """The CLI and the console check addresses less strictly than email-validator does."""
    invite(username="Ouder.cli", email="ouder@school.invalid")
    listed = dossier.call("GET", '/Users?filter=userName%20eq%20%22Ouder.cli%22',
                          token=dossier.bearer)
    assert listed.status_code == 200
    assert listed.get_json()["Resources"][0]["emails"][0]["value"] == "ouder@school.invalid"


def test_method_not_allowed_says_which_are(dossier):
    response = dossier.call("DELETE", "/Users", token=dossier.bearer)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


# --- who may call -----------------------------------------------------------------------------
def _other_issuer_token(client_id):
    key = ECKey.generate_key("P-256", parameters={"kid": "theirs"})
    now = int(time.time())
    claims = {"iss": "https://other.example", "sub": client_id, "client_id": client_id,
              "aud": "http://idp.test/scim/v2", "scope": "scim", "org": "PO2806", "iat": now,
              "exp": now + 300, "jti": "x"}
    return jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": "theirs"}, claims, key)


def _our_key_but(app, for_client, **changes):
    """A token signed with our own key, but with claims we never issue this way."""
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == for_client))
        token = tokens.generate_client_token(client, changes.pop("scope", "scim"))["access_token"]
        if not changes:
            return token
        claims = jwt.decode(token, keys.verification_keys(), algorithms=["ES256"]).claims
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = keys.signing_key("ES256")
        return jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": key.kid}, claims, key)


@pytest.mark.parametrize("how, status, error", [
    ("no token", 401, None),
    ("basic credentials", 401, None),
    ("garbage", 401, "invalid_token"),
    ("another issuer", 401, "invalid_token"),
    ("our key, another issuer", 401, "invalid_token"),
    ("expired", 401, "invalid_token"),
    ("a parent's access token", 401, "invalid_token"),
    ("without the scim scope", 403, "insufficient_scope"),
    ("meant for another audience", 401, "invalid_token"),
    ("the client's organisation changed", 401, "invalid_token"),
    ("a sign-in client's id as sub", 401, "invalid_token"),
])
def test_only_a_clients_own_scim_token_gets_in(app, client, mailbox, dossier, make_client, invite,
                                               how, status, error):
    headers = {}
    if how == "basic credentials":
        headers["Authorization"] = "Basic " + "ZG9zc2llcjpzZWNyZXQ="
    elif how == "garbage":
        headers["Authorization"] = "Bearer not.a.token"
    elif how == "another issuer":
        headers["Authorization"] = f"Bearer {_other_issuer_token(dossier.client_id)}"
    elif how == "our key, another issuer":
        headers["Authorization"] = f"Bearer {_our_key_but(app, dossier.client_id, iss='https://x')}"
    elif how == "expired":
        token = dossier.token()
        clock.advance(app.config["IDP_ACCESS_TOKEN_TTL"])
        headers["Authorization"] = f"Bearer {token}"
    elif how == "a parent's access token":
        from tests.actors import RelyingParty

        invite(username="Ouder.twee", email="twee@example.org")
        parent = Parent(client, mailbox, username="Ouder.twee")
        parent.activate()
        registered = make_client()
        rp = RelyingParty(client, registered["client_id"], registered["client_secret"],
                          registered["redirect_uri"])
        access = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()["access_token"]
        headers["Authorization"] = f"Bearer {access}"
    elif how == "without the scim scope":
        headers["Authorization"] = f"Bearer {_our_key_but(app, dossier.client_id, scope='')}"
    elif how == "meant for another audience":
        headers["Authorization"] = f"Bearer {_our_key_but(app, dossier.client_id, aud='https://rp')}"
    elif how == "the client's organisation changed":
        headers["Authorization"] = f"Bearer {_our_key_but(app, dossier.client_id, org='*')}"
    elif how == "a sign-in client's id as sub":
        other = make_client()["client_id"]
        headers["Authorization"] = f"Bearer {_our_key_but(app, dossier.client_id, sub=other, client_id=other)}"
    if how not in ("no token", "basic credentials", "garbage"):  # real tokens only
        remember(headers["Authorization"].removeprefix("Bearer "))
    response = client.get("/scim/v2/Users", headers=headers)
    body = scim_error(response, status)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="scim"')
    assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)
    assert "Ouder.een" not in json.dumps(body)


def test_the_discovery_endpoints_are_open_and_nothing_else(client, dossier):
    assert client.get("/scim/v2/ServiceProviderConfig").status_code == 200
    assert client.get("/scim/v2/Schemas").get_json()["totalResults"] == 2
    assert client.get("/scim/v2/ResourceTypes/User").get_json()["schemaExtensions"] == [
        {"schema": EXT, "required": False}]
    user_schema = client.get("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").get_json()
    by_name = {a["name"]: a for a in user_schema["attributes"]}
    assert set(by_name) == {"userName", "name", "displayName", "active", "emails"}
    assert by_name["userName"]["caseExact"] is True
    scim_error(client.get(f"/scim/v2/Users/{dossier.existing}"), 401)
