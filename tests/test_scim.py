"""SCIM 2.0 provisioning at /scim/v2 (RFC 7643, RFC 7644), driven by scim2-client from PyPI: the
dossier application invites, finds, changes, disables and erases parents by itself, and the
parent and the relying parties see the result."""

import pytest
from scim2_models import (Email, Name, PatchOp, PatchOperation, SCIMException, SearchRequest,
                          ServiceProviderConfig)
from sqlalchemy import select

from idp import clock, worker
from idp.extensions import db
from idp.models import AuditEvent
from tests.actors import Parent, RelyingParty
from tests.scim_client import EXTENSION, new_user
from tests.test_oidc_flow import sign_in_at


@pytest.fixture
def dossier(app, make_org, make_provisioner, frozen_clock):
    """PO2806 and the dossier's provisioning client, bound to it."""
    make_org()
    return make_provisioner()


@pytest.fixture
def scim(app, dossier):
    return dossier.scim(app)


def _patch(*operations) -> PatchOp:
    from tests.scim_client import ScimUser

    return PatchOp[ScimUser](operations=[PatchOperation[ScimUser](op=op, path=path, value=value)
                                         for op, path, value in operations])


def signed_in_at_dossier(client, mailbox, make_client, logout_receiver):
    """The parent activates and signs in at a relying party with a back-channel logout
    endpoint; returns the relying party and its token response."""
    parent = Parent(client, mailbox)
    parent.activate()
    registered = make_client(backchannel_logout_uri=logout_receiver.uri)
    rp = RelyingParty(client, registered["client_id"], registered["client_secret"],
                      registered["redirect_uri"])
    return parent, rp, rp.exchange(sign_in_at(rp, parent)["code"]).get_json()


def extension(user) -> dict:
    return user.model_dump()[EXTENSION]


def test_discovery_says_what_is_offered(scim):
    config = scim.query(ServiceProviderConfig)
    assert config.patch.supported and config.etag.supported and config.filter.supported
    assert config.filter.max_results == 200
    assert not (config.bulk.supported or config.sort.supported or config.change_password.supported)
    assert [scheme.type for scheme in config.authentication_schemes] == ["oauthbearertoken"]


def test_create_invites_and_the_parent_activates_and_signs_in(app, client, mailbox, scim):
    created = scim.create(new_user())
    assert created.user_name == "Yvonne.testouder" and created.external_id == "dossier-1"
    assert created.emails[0].value == "yvonne@example.org" and created.name.formatted == "Yvonne Testouder"
    assert created.active is True
    assert created.meta.location == f"http://idp.test/scim/v2/Users/{created.id}"
    assert created.meta.version.startswith('W/"')
    pending = extension(created)
    assert pending["invitationState"] == "pending"
    assert pending["organisation"] == "PO2806"
    assert "resendInvitation" not in pending
    welcome = mailbox.last()
    assert "Welkom" in welcome["Subject"] and welcome["To"] == "yvonne@example.org"

    parent = Parent(client, mailbox)
    parent.activate()
    assert parent.sign_in().status_code == 302
    activated = scim.query(type(created), created.id)
    assert extension(activated)["invitationState"] == "activated"
    assert activated.meta.version != created.meta.version


def test_username_keeps_its_case_and_is_unique_in_the_organisation(scim):
    scim.create(new_user())
    with pytest.raises(SCIMException) as refused:
        scim.create(new_user(email="other@example.org", external_id="dossier-2"))
    assert (refused.value.status, refused.value.scim_type) == (409, "uniqueness")
    with pytest.raises(SCIMException) as same_external_id:
        scim.create(new_user(username="Someone.else", email="s@example.org"))
    assert same_external_id.value.scim_type == "uniqueness"
    with pytest.raises(SCIMException) as same_email:
        scim.create(new_user(username="Someone.else", external_id="dossier-2",
                             email="YVONNE@example.org"))
    assert same_email.value.scim_type == "uniqueness"
    other_case = scim.create(new_user(username="yvonne.testouder", external_id="dossier-3",
                                      email="y2@example.org"))
    assert other_case.user_name == "yvonne.testouder"


def test_search_by_filter_with_paging(app, scim):
    from tests.scim_client import ScimUser

    for n in range(5):
        scim.create(new_user(username=f"Ouder.{n}", email=f"ouder{n}@example.org",
                             external_id=f"d-{n}"))
    disabled = scim.search(SearchRequest(filter='userName eq "Ouder.4"')).resources[0]
    scim.modify(ScimUser, disabled.id, _patch(("replace", "active", False)))

    def found(expression, **paging):
        listed = scim.query(ScimUser, query_parameters=SearchRequest(filter=expression, **paging))
        return listed.total_results, [u.user_name for u in listed.resources or []]

    assert found('userName eq "Ouder.1"') == (1, ["Ouder.1"])
    assert found('userName eq "ouder.1"') == (0, [])  # case-sensitive, as at sign-in
    assert found('externalId eq "d-2"') == (1, ["Ouder.2"])
    assert found('emails.value eq "ouder3@example.org"') == (1, ["Ouder.3"])
    assert found('emails[value eq "ouder3@example.org"]') == (1, ["Ouder.3"])
    assert found('active eq false') == (1, ["Ouder.4"])
    assert found('active eq true and externalId eq "d-0"') == (1, ["Ouder.0"])
    assert found('active eq true and userName eq "Ouder.4"') == (0, [])
    assert found('userName sw "Ouder." and not (externalId eq "d-0")')[0] == 4
    first = scim.search(SearchRequest(filter='userName eq "Ouder.0"')).resources[0]
    assert found(f'id eq "{first.id}"') == (1, ["Ouder.0"])
    assert found('meta.lastModified gt "2000-01-01T00:00:00Z"')[0] == 5
    assert found('meta.created gt "2999-01-01T00:00:00Z"') == (0, [])
    assert found('displayName sw "Yvonne"')[0] == 5
    assert found(None, start_index=2, count=2) == (5, ["Ouder.1", "Ouder.2"])
    assert found(None, start_index=5, count=2) == (5, ["Ouder.4"])
    assert found(None, count=0) == (5, [])


def test_attributes_and_excluded_attributes_choose_what_comes_back(scim, dossier):
    scim.create(new_user())
    only = dossier.call("GET", "/Users?attributes=userName").get_json()["Resources"][0]
    assert set(only) == {"schemas", "id", "userName"}
    without = dossier.call("GET", "/Users?excludedAttributes=emails,name").get_json()["Resources"][0]
    assert "emails" not in without and "name" not in without and without["userName"]


@pytest.mark.app_settings(IDP_SCIM_MAX_RESULTS=2)
def test_a_count_over_the_maximum_gets_the_maximum(scim, dossier):
    for n in range(3):
        scim.create(new_user(username=f"Ouder.{n}", email=f"o{n}@example.org", external_id=f"d-{n}"))
    response = dossier.call("GET", "/Users?count=1000")
    body = response.get_json()
    assert response.status_code == 200
    assert (body["totalResults"], body["itemsPerPage"], len(body["Resources"])) == (3, 2, 2)
    assert dossier.call("GET", "/ServiceProviderConfig").get_json()["filter"]["maxResults"] == 2


def test_patch_and_put_change_name_email_and_external_id(app, scim):
    from tests.scim_client import ScimUser

    created = scim.create(new_user())
    patched = scim.modify(ScimUser, created.id, _patch(
        ("replace", "name", Name(given_name="Yvonne", family_name="de Vries")),
        ("replace", "emails", [Email(value="yvonne@nieuw.example", primary=True)]),
        ("replace", "externalId", "dossier-7"),
    ))
    assert patched.name.formatted == "Yvonne de Vries" and patched.display_name == "Yvonne de Vries"
    assert patched.emails[0].value == "yvonne@nieuw.example" and patched.external_id == "dossier-7"
    assert patched.meta.version != created.meta.version

    replacement = new_user(username="Yvonne.devries", email="y@example.org", external_id="dossier-9",
                           name="Y. de Vries")
    replacement.id = created.id
    replaced = scim.replace(replacement)
    assert (replaced.user_name, replaced.external_id, replaced.name.formatted) == (
        "Yvonne.devries", "dossier-9", "Y. de Vries")
    removed = scim.modify(ScimUser, created.id, _patch(("remove", "name", None)))
    assert removed.name is None
    with app.app_context():
        actions = [e.action for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.target == created.id).order_by(AuditEvent.id))]
    assert actions == ["account.invite", "account.update", "account.update", "account.update"]


def test_disable_ends_the_session_and_the_relying_party_is_told_then_enable(
        app, client, mailbox, scim, make_client, logout_receiver):
    from tests.scim_client import ScimUser

    created = scim.create(new_user())
    parent, rp, tokens = signed_in_at_dossier(client, mailbox, make_client, logout_receiver)
    id_token = rp.validate_id_token(tokens["id_token"])

    disabled = scim.modify(ScimUser, created.id, _patch(("replace", "active", False)))
    assert disabled.active is False
    with app.app_context():
        assert worker.run_once()["logouts_delivered"] == 1
    logout = rp.verify_logout_token(logout_receiver.tokens[0])
    assert (logout["sub"], logout["sid"]) == (id_token["sub"], id_token["sid"])
    assert rp.refresh(tokens["refresh_token"]).status_code == 400
    clock.advance(30)
    assert parent.sign_in().status_code == 400  # refused: the page again, as a wrong password

    enabled = scim.modify(ScimUser, created.id, _patch(("replace", "active", True)))
    assert enabled.active is True
    clock.advance(30)
    assert parent.sign_in().status_code == 302


def test_resend_invitation_sends_a_new_link_and_kills_the_old_one(app, client, mailbox, scim):
    from tests.scim_client import ScimUser

    created = scim.create(new_user())
    parent = Parent(client, mailbox)
    old_link = parent.activation_link()
    clock.advance(60)
    resent = scim.modify(ScimUser, created.id, _patch(
        ("add", f"{EXTENSION}:resendInvitation", True)))
    assert extension(resent)["invitationState"] == "pending"
    assert extension(resent)["invitationSentAt"] != extension(created)["invitationSentAt"]
    assert parent.activation_link() != old_link
    assert parent.open_activation(old_link).status_code == 410
    parent.activate()
    with pytest.raises(SCIMException) as refused:
        scim.modify(ScimUser, created.id, _patch(("add", f"{EXTENSION}:resendInvitation", True)))
    assert refused.value.status == 400


def test_an_invitation_not_used_in_time_shows_as_expired(app, scim, dossier):
    created = scim.create(new_user())
    clock.advance(app.config["IDP_ACTIVATION_TTL"] + 1)
    scim = dossier.scim(app)  # a week later: a new token
    assert extension(scim.query(type(created), created.id))["invitationState"] == "expired"


def test_delete_erases_and_tells_the_relying_parties(
        app, client, mailbox, scim, dossier, make_client, logout_receiver):
    created = scim.create(new_user())
    signed_in_at_dossier(client, mailbox, make_client, logout_receiver)
    scim.delete(type(created), created.id)
    with app.app_context():
        assert worker.run_once()["logouts_delivered"] == 1
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.target == created.id)))
    assert dossier.call("GET", f"/Users/{created.id}").status_code == 404
    assert "account.erase" in [e.action for e in events]
    # The stub names the account by subject only: no username or address anywhere.
    assert all("Yvonne" not in repr(e.detail) and "yvonne@" not in repr(e.detail) for e in events)


def test_every_change_is_audited_with_the_client_as_actor(app, scim, dossier):
    from tests.scim_client import ScimUser

    created = scim.create(new_user())
    scim.modify(ScimUser, created.id, _patch(("replace", "active", False)))
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.target == created.id)))
    assert [e.action for e in events] == ["account.invite", "account.disable"]
    assert {e.actor for e in events} == {f"scim:{dossier.client_id}"}
    assert all(e.ip == "127.0.0.1" and e.organisation_id is not None for e in events)


def test_versions_etag_if_match_and_if_none_match(scim, dossier):
    created = scim.create(new_user())
    path = f"/Users/{created.id}"
    read = dossier.call("GET", path)
    etag = read.headers["ETag"]
    assert etag == created.meta.version == read.get_json()["meta"]["version"]
    assert dossier.call("GET", path, headers={"If-None-Match": etag}).status_code == 304
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Y"}]}
    changed = dossier.call("PATCH", path, json=body, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    stale = dossier.call("PATCH", path, json=body, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["status"] == "412"
    assert dossier.call("DELETE", path, headers={"If-Match": etag}).status_code == 412
    assert dossier.call("DELETE", path, headers={"If-Match": changed.headers["ETag"]}).status_code == 204
