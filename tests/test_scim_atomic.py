"""A SCIM change is all or nothing, by hand-written requests: a PUT or PATCH that is refused in
any part changes nothing (RFC 7644 3.5.2), two changes of one version at the same moment let
exactly one win (3.14), externalId can be removed, refusals are explained in English for the
program that reads them, and a disabled client is refused at once."""

import threading

import pytest
from sqlalchemy import func, select, update

from idp import clock, worker
from idp.extensions import db
from idp.models import Account, AuditEvent, Client
from idp.scim import users
from tests.test_scim import signed_in_at_dossier
from tests.test_scim_errors import EXT, USER, patch, scim_error

OTHER = {**USER, "userName": "Ouder.twee", "externalId": "d-2",
         "emails": [{"value": "twee@example.org", "primary": True}]}


@pytest.fixture
def dossier(app, make_org, make_provisioner, frozen_clock):
    """The dossier's client with two parents of PO2806: Ouder.een (``existing``) and
    Ouder.twee, both invited, not yet activated."""
    make_org()
    provisioner = make_provisioner()
    provisioner.bearer = provisioner.token()
    for user in (USER, OTHER):
        made = provisioner.call("POST", "/Users", token=provisioner.bearer, json=user)
        assert made.status_code == 201, made.get_json()
    provisioner.existing = made_id(provisioner, "Ouder.een")
    return provisioner


def made_id(dossier, username):
    found = dossier.call("GET", f'/Users?filter=userName%20eq%20%22{username}%22',
                         token=dossier.bearer).get_json()
    return found["Resources"][0]["id"]


def read(dossier, subject=None):
    response = dossier.call("GET", f"/Users/{subject or dossier.existing}", token=dossier.bearer)
    assert response.status_code == 200
    return response


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action.startswith("account.")))


def put_body(**changes):
    body = {**USER, "displayName": "Nieuwe Naam", "schemas": [*USER["schemas"], EXT]}
    body.update(changes)
    return body


RENAME = {"op": "replace", "path": "displayName", "value": "Nieuwe Naam"}
DISABLE = {"op": "replace", "path": "active", "value": False}
RESEND = {"op": "add", "path": f"{EXT}:resendInvitation", "value": True}
TAKEN_USERNAME = "userName: another User of this organisation already has it."
TAKEN_EMAIL = ("emails: another User of this organisation already has this address "
               "(in any case).")
TAKEN_EXTERNAL_ID = "externalId: another User of this organisation already has it."
NOT_PENDING = ("resendInvitation: only while the invitation is pending or expired (not after "
               "the User activated the account, nor while it is disabled).")

# (id, method, body, status, scimType, detail): each has a part that alone would be done.
REFUSED = [
    ("PATCH a name and another's e-mail", "PATCH",
     patch(RENAME, {"op": "replace", "path": "emails", "value": [{"value": "TWEE@example.org"}]}),
     409, "uniqueness", TAKEN_EMAIL),
    ("PATCH a name and another's userName", "PATCH",
     patch(RENAME, {"op": "replace", "path": "userName", "value": "Ouder.twee"}),
     409, "uniqueness", TAKEN_USERNAME),
    ("PATCH a name and another's externalId", "PATCH",
     patch(RENAME, {"op": "replace", "path": "externalId", "value": "d-2"}),
     409, "uniqueness", TAKEN_EXTERNAL_ID),
    ("PATCH a name, disable, and a resend a disabled account cannot take", "PATCH",
     patch(RENAME, DISABLE, RESEND), 400, "invalidValue", NOT_PENDING),
    ("PATCH a name and an externalId too long", "PATCH",
     patch(RENAME, {"op": "replace", "path": "externalId", "value": "x" * 201}),
     400, "invalidValue", "externalId: 1 to 200 characters, not only spaces."),
    ("PATCH a name and a name too long", "PATCH",
     patch(RENAME, {"op": "replace", "path": "name", "value": {"formatted": "x" * 201}}),
     400, "invalidValue", "name: at most 200 characters."),
    ("PUT a name and another's e-mail", "PUT",
     put_body(emails=[{"value": "twee@example.org", "primary": True}]),
     409, "uniqueness", TAKEN_EMAIL),
    ("PUT a name and another's externalId", "PUT", put_body(externalId="d-2"),
     409, "uniqueness", TAKEN_EXTERNAL_ID),
    ("PUT a name, disabled, and a resend", "PUT",
     put_body(active=False, **{EXT: {"resendInvitation": True}}), 400, "invalidValue",
     NOT_PENDING),
]


@pytest.mark.parametrize("method, payload, status, scim_type, detail",
                         [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_a_change_refused_in_any_part_changes_nothing(
        app, mailbox, dossier, method, payload, status, scim_type, detail):
    before = read(dossier)
    sent, audited = len(mailbox.messages()), audit_count(app)
    with app.app_context():
        version = db.session.scalar(select(Account.version)
                                    .where(Account.subject == dossier.existing))
    response = dossier.call(method, f"/Users/{dossier.existing}", token=dossier.bearer,
                            json=payload, headers={"If-Match": before.headers["ETag"]})
    assert scim_error(response, status, scim_type)["detail"] == detail
    after = read(dossier)
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.get_json() == before.get_json()  # the name too, and still active and pending
    assert after.get_json()[EXT]["invitationState"] == "pending"
    with app.app_context():
        assert db.session.scalar(select(Account.version)
                                 .where(Account.subject == dossier.existing)) == version
    assert (len(mailbox.messages()), audit_count(app)) == (sent, audited)


def test_a_refused_disable_signs_no_one_out(app, client, mailbox, dossier, make_client,
                                             logout_receiver):
    """The back-channel logouts and the e-mail follow the commit: a PATCH that disables but is
    refused in another part tells no relying party, and the parent stays signed in."""
    made = dossier.call("POST", "/Users", token=dossier.bearer, json={
        **USER, "userName": "Yvonne.testouder", "externalId": "d-y",
        "emails": [{"value": "yvonne@example.org", "primary": True}]})
    subject = made.get_json()["id"]
    parent, rp, tokens = signed_in_at_dossier(client, mailbox, make_client, logout_receiver)
    sent = len(mailbox.messages())
    response = dossier.call("PATCH", f"/Users/{subject}", token=dossier.bearer,
                            json=patch(DISABLE, RESEND))
    assert scim_error(response, 400, "invalidValue")["detail"] == NOT_PENDING
    with app.app_context():
        assert worker.run_once()["logouts_delivered"] == 0
    assert logout_receiver.tokens == [] and len(mailbox.messages()) == sent
    assert read(dossier, subject).get_json()["active"] is True
    assert rp.refresh(tokens["refresh_token"]).status_code == 200

    # The same without the part that cannot be done: disabled, signed out, told.
    response = dossier.call("PATCH", f"/Users/{subject}", token=dossier.bearer,
                            json=patch(RENAME, DISABLE))
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert response.get_json()["displayName"] == "Nieuwe Naam"
    with app.app_context():
        assert worker.run_once()["logouts_delivered"] == 1


def test_a_patch_of_several_parts_is_one_version_and_every_part_audited(app, dossier):
    before = read(dossier)
    response = dossier.call("PATCH", f"/Users/{dossier.existing}", token=dossier.bearer,
                            headers={"If-Match": before.headers["ETag"]},
                            json=patch(RENAME, DISABLE, {"op": "replace", "path": "externalId",
                                                         "value": "d-9"}))
    assert response.status_code == 200
    changed = response.get_json()
    assert (changed["displayName"], changed["active"], changed["externalId"]) == (
        "Nieuwe Naam", False, "d-9")
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(["account.update", "account.disable"]))).all()
    assert sorted(actions) == ["account.disable", "account.update"]


# --- externalId -------------------------------------------------------------------------------
def test_external_id_is_removed_by_patch_and_by_a_put_without_it(app, dossier):
    removed = dossier.call("PATCH", f"/Users/{dossier.existing}", token=dossier.bearer,
                           json=patch({"op": "remove", "path": "externalId"}))
    assert removed.status_code == 200 and "externalId" not in removed.get_json()
    found = dossier.call("GET", '/Users?filter=externalId%20eq%20%22d-1%22', token=dossier.bearer)
    assert found.get_json()["totalResults"] == 0
    with app.app_context():
        assert db.session.scalar(select(Account.external_id)
                                 .where(Account.subject == dossier.existing)) is None

    again = dossier.call("PATCH", f"/Users/{dossier.existing}", token=dossier.bearer,
                         json=patch({"op": "add", "path": "externalId", "value": "d-1"}))
    assert again.get_json()["externalId"] == "d-1"
    put = dossier.call("PUT", f"/Users/{dossier.existing}", token=dossier.bearer,
                       json={k: v for k, v in USER.items() if k != "externalId"})
    assert put.status_code == 200 and "externalId" not in put.get_json()
    # Now free for another parent.
    taken = dossier.call("PATCH", f"/Users/{made_id(dossier, 'Ouder.twee')}", token=dossier.bearer,
                         json=patch({"op": "replace", "path": "externalId", "value": "d-1"}))
    assert taken.status_code == 200


# --- two changes at the same moment -------------------------------------------------------------
def race(app, monkeypatch, dossier, payloads, headers):
    """Send the PATCHes at once, each from its own connection, every one of them held until all
    have read the User and checked If-Match: then they write."""
    barrier = threading.Barrier(len(payloads), timeout=60)  # a timeout only so a bug cannot hang
    waited = set()
    check_version = users.check_version

    def check_then_wait(user):
        check_version(user)
        if threading.get_ident() not in waited:  # a second reading (no If-Match) goes on
            waited.add(threading.get_ident())
            barrier.wait()

    monkeypatch.setattr(users, "check_version", check_then_wait)
    answers = []

    def send(payload):
        answer = dossier.call("PATCH", f"/Users/{dossier.existing}", token=dossier.bearer,
                              json=payload, headers=headers)
        answers.append(answer)

    threads = [threading.Thread(target=send, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(waited) == len(payloads)  # every one got past If-Match before any wrote
    return answers


def test_two_patches_of_one_version_at_once_exactly_one_wins(app, monkeypatch, dossier):
    etag = read(dossier).headers["ETag"]
    answers = race(app, monkeypatch, dossier, [
        patch({"op": "replace", "path": "displayName", "value": "Naam A"}),
        patch({"op": "replace", "path": "displayName", "value": "Naam B"})],
        {"If-Match": etag})
    assert sorted(answer.status_code for answer in answers) == [200, 412]
    [won] = [answer for answer in answers if answer.status_code == 200]
    [lost] = [answer for answer in answers if answer.status_code == 412]
    scim_error(lost, 412)
    now = read(dossier)
    assert now.get_json()["displayName"] == won.get_json()["displayName"]
    assert now.headers["ETag"] == won.headers["ETag"] != etag
    assert audit_count(app) == 3  # two invitations and the one change


def test_two_patches_without_if_match_at_once_both_count(app, monkeypatch, dossier):
    """Without If-Match the client asked for no precondition: the one that comes second is
    worked out again on the User as the first left it, so neither change is lost."""
    answers = race(app, monkeypatch, dossier, [
        patch({"op": "replace", "path": "displayName", "value": "Naam A"}),
        patch({"op": "replace", "path": "externalId", "value": "d-9"})], {})
    assert [answer.status_code for answer in answers] == [200, 200]
    now = read(dossier).get_json()
    assert (now["displayName"], now["externalId"]) == ("Naam A", "d-9")


# --- a disabled client ------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["in the console, on this worker", "on another worker"])
def test_a_disabled_clients_tokens_stop_working_at_once(app, dossier, where):
    assert read(dossier).status_code == 200  # the registration is now in this worker's cache
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == dossier.client_id))
        if where == "on another worker":  # the register changes; this worker's cache is not told
            db.session.execute(update(Client).where(Client.id == client.id)
                               .values(disabled_at=clock.timestamp()))
            db.session.commit()
        else:
            from idp.console.service import set_disabled

            set_disabled("Bert (servicebeheer)", client, True)
    for method, path, kwargs in [("GET", "/Users", {}),
                                 ("GET", f"/Users/{dossier.existing}", {}),
                                 ("PATCH", f"/Users/{dossier.existing}", {"json": patch(DISABLE)}),
                                 ("DELETE", f"/Users/{dossier.existing}", {}),
                                 ("POST", "/Users", {"json": {**USER, "userName": "Ouder.drie",
                                                              "externalId": "d-3"}})]:
        response = dossier.call(method, path, token=dossier.bearer, **kwargs)
        scim_error(response, 401)
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert dossier.token_response().status_code == 401  # and no new token
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 2
        assert db.session.scalar(select(Account.status)
                                 .where(Account.subject == dossier.existing)) == "invited"
