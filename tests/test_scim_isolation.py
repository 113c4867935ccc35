"""Isolation: a SCIM client bound to one organisation never reads or changes another's parents,
however the request is phrased (list, filter, get, put, patch, delete by a guessed or known
id, create naming the other); staff accounts are never SCIM's at all. A service-wide client
reaches every organisation and names one when it creates."""

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import Account

EXT = "urn:ppo:params:scim:schemas:extension:ouderportaal:2.0:User"
PATCH = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations": [{"op": "replace", "path": "active", "value": False}]}


def user(username, external_id, email, org=None):
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": username,
            "externalId": external_id, "emails": [{"value": email, "primary": True}]}
    if org:
        body["schemas"].append(EXT)
        body[EXT] = {"organisation": org}
    return body


@pytest.fixture
def two(app, make_org, make_provisioner, invite, frozen_clock):
    """PO2806 and PO9999, a client bound to each; in each a parent with the same userName and
    externalId, and in PO2806 a staff member."""
    make_org()
    make_org(code="PO9999", name="PPO Elders")
    a, b = make_provisioner(org="PO2806"), make_provisioner(org="PO9999", name="Elders sync")
    ids = {}
    for name, provisioner in (("a", a), ("b", b)):
        made = provisioner.call("POST", "/Users", json=user("Ouder.een", "d-1", f"{name}@example.org"))
        assert made.status_code == 201
        ids[name] = made.get_json()["id"]
    invite(username="Anna.staf", email="anna@ppo.example")
    with app.app_context():
        staff = db.session.scalar(select(Account).where(Account.username == "Anna.staf"))
        staff.role = "helpdesk"
        db.session.commit()
        ids["staff"] = staff.subject
    return a, b, ids


def _names(response):
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["totalResults"], sorted(r[EXT]["organisation"] + ":" + r["userName"]
                                        for r in body.get("Resources", []))


@pytest.mark.parametrize("query", [
    "", "?filter=userName%20eq%20%22Ouder.een%22", "?filter=externalId%20eq%20%22d-1%22",
    "?filter=emails.value%20eq%20%22b%40example.org%22",
    f"?filter={EXT}:organisation%20eq%20%22PO9999%22", "?filter=userName%20pr",
    "?filter=userName%20eq%20%22Anna.staf%22",
], ids=["all", "userName", "externalId", "other's e-mail", "other's organisation", "present",
        "staff"])
def test_searches_see_only_their_own_parents(two, query):
    a, b, ids = two
    found = _names(a.call("GET", f"/Users{query}"))
    assert all(name.startswith("PO2806:Ouder.een") for name in found[1])
    assert found[0] == len(found[1]) <= 1
    assert _names(b.call("POST", "/Users/.search", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName eq "Anna.staf"'})) == (0, [])


@pytest.mark.parametrize("method, body", [
    ("GET", None), ("PATCH", PATCH), ("PUT", user("Overgenomen", "d-9", "x@example.org")),
    ("DELETE", None),
], ids=["get", "patch", "put", "delete"])
@pytest.mark.parametrize("whose", ["other organisation", "staff"])
def test_another_organisations_or_a_staff_members_id_is_not_found(app, two, method, body, whose):
    a, b, ids = two
    target = ids["b"] if whose == "other organisation" else ids["staff"]
    with app.app_context():
        before = db.session.scalar(select(Account.version).where(Account.subject == target))
    response = a.call(method, f"/Users/{target}", json=body) if body else a.call(method, f"/Users/{target}")
    assert response.status_code == 404 and response.get_json()["status"] == "404"
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.subject == target))
        assert account is not None and account.version == before and account.status != "disabled"


def test_a_bound_client_cannot_create_in_another_organisation(two):
    a, b, ids = two
    response = a.call("POST", "/Users", json=user("Nieuw", "d-2", "n@example.org", org="PO9999"))
    assert response.status_code == 403
    assert _names(b.call("GET", "/Users?filter=userName%20eq%20%22Nieuw%22")) == (0, [])


def test_a_service_wide_client_reaches_every_organisation_and_names_one(two, make_provisioner):
    everywhere = make_provisioner(org=None, name="Servicebeheer sync")
    assert _names(everywhere.call("GET", "/Users")) == (2, ["PO2806:Ouder.een", "PO9999:Ouder.een"])
    only_b = everywhere.call("GET", f"/Users?filter={EXT}:organisation%20eq%20%22PO9999%22")
    assert _names(only_b) == (1, ["PO9999:Ouder.een"])
    unnamed = everywhere.call("POST", "/Users", json=user("Nieuw", "d-2", "n@example.org"))
    assert unnamed.status_code == 400 and unnamed.get_json()["scimType"] == "invalidValue"
    unknown = everywhere.call("POST", "/Users", json=user("Nieuw", "d-2", "n@example.org", org="PO0000"))
    assert unknown.status_code == 400
    made = everywhere.call("POST", "/Users", json=user("Nieuw", "d-2", "n@example.org", org="PO9999"))
    assert made.status_code == 201 and made.get_json()[EXT]["organisation"] == "PO9999"
