"""Random SCIM requests with a valid token (hypothesis): random filters, paging values and
JSON bodies for create, PUT and PATCH, built from the attribute names and operators a SCIM
client uses. Never a 5xx; every refusal is an RFC 7644 3.12 error; an existing parent of
another organisation is never touched."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from idp.extensions import db
from idp.models import Account
from tests.security.test_fuzz import fuzz

EXT = "urn:ppo:params:scim:schemas:extension:ouderportaal:2.0:User"
NAMES = ["userName", "externalId", "id", "emails", "emails.value", "emails.type", "name",
         "name.formatted", "name.givenName", "displayName", "active", "meta.created",
         "meta.lastModified", f"{EXT}:organisation", f"{EXT}:resendInvitation",
         f"{EXT}:invitationState", "title", "groups", "schemas", 'emails[value eq "a@b.nl"]',
         'emails[primary eq true].value']
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                    st.text(max_size=40), st.sampled_from(["a@b.nl", "PO2806", "PO9999",
                                                           "2026-12-01T00:00:00Z", "\x00"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(NAMES + ["value", "primary",
                                                                          "op", "path"]), inner,
                                                 max_size=4)), max_leaves=8)
filters = st.lists(st.one_of(st.sampled_from(NAMES + OPERATORS + ["(", ")", '"x"', "true", "[",
                                                                  "]", "null", "42"]),
                             st.text(max_size=8)), max_size=8).map(" ".join)


@pytest.fixture
def target(app, make_org, make_provisioner, invite, frozen_clock):
    make_org()
    make_org(code="PO9999", name="Elders")
    invite(org_code="PO9999", username="Ander.ouder", email="ander@example.org")
    provisioner = make_provisioner()
    provisioner.bearer = provisioner.token()
    made = provisioner.call("POST", "/Users", token=provisioner.bearer, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Ouder.een",
        "emails": [{"value": "een@example.org"}]})
    provisioner.existing = made.get_json()["id"]
    return provisioner


def _answered(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        body = response.get_json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == str(response.status_code)


def _other_untouched(app):
    with app.app_context():
        other = db.session.scalar(select(Account).where(Account.username == "Ander.ouder"))
        assert other.version == 1 and other.status == "invited"


@fuzz(60)
@given(expression=filters, start=st.text(max_size=12), count=st.text(max_size=12))
def test_random_searches(app, target, expression, start, count):
    query = {"filter": expression, "startIndex": start, "count": count}
    _answered(target.call("GET", "/Users", token=target.bearer, query_string=query))
    _other_untouched(app)


@fuzz(60)
@given(method=st.sampled_from(["POST", "PUT", "PATCH"]), body=values,
       schemas=st.sampled_from([["urn:ietf:params:scim:schemas:core:2.0:User"],
                                ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
                                ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], None]),
       raw=st.booleans())
def test_random_bodies(app, target, method, body, schemas, raw):
    if isinstance(body, dict) and schemas is not None:
        body = {"schemas": schemas, **body}
    if method == "PATCH" and isinstance(body, dict) and not raw:
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [body]}
    path = "/Users" if method == "POST" else f"/Users/{target.existing}"
    data = json.dumps(body, allow_nan=True)
    _answered(target.call(method, path, token=target.bearer, data=data,
                          content_type="application/scim+json"))
    _other_untouched(app)
