"""Service management, the audit log pages and the CSV import in the console: the role matrix of
these routes, CSRF on every form, the client secret shown once and stored hashed, keys rotated
and revoked (typed kid, step-up), the export's contents and its CSV-injection escaping."""

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from idp import clock, crypto
from idp.extensions import db
from idp.models import Account, AuditEvent, Client, Organisation, SigningKey
from tests import pages
from tests.console.test_access import B, H, M, NOBODY, ORG_STAFF, PARENT, S, WHO
from tests.conftest import subject_of
from tests.secrets_seen import remember

#: (method, path, roles allowed, answer when allowed). {org}: an organisation code (own or
#: other: servicebeheer may open any); {client}/{kid}: service-wide things (no own/other).
ROUTES = [
    ("GET", "/beheer/auditlog", {B}, 200),
    ("GET", "/beheer/auditlog?actor=x&parent=y&action=account.&from=01-12-2026&to=31-12-2026", {B}, 200),
    ("GET", "/beheer/auditlog?from=gisteren", {B}, 400),
    ("GET", "/beheer/auditlog/export.csv", {B}, 200),
    ("GET", "/beheer/auditlog/export.jsonl", {B}, 200),
    ("GET", "/beheer/service/auditlog", {S}, 200),
    ("GET", "/beheer/service/auditlog/export.csv?org=PO2801", {S}, 200),
    ("GET", "/beheer/ouders/importeren", ORG_STAFF, 200),
    ("POST", "/beheer/ouders/importeren", ORG_STAFF, 400),
    ("POST", "/beheer/ouders/importeren/uitvoeren", ORG_STAFF, 302),
    ("GET", "/beheer/service/organisaties", {S}, 200),
    ("GET", "/beheer/service/organisaties/nieuw", {S}, 200),
    ("POST", "/beheer/service/organisaties/nieuw", {S}, 400),
    ("GET", "/beheer/service/organisaties/{org}", {S}, 200),
    ("POST", "/beheer/service/organisaties/{org}", {S}, 400),
    ("GET", "/beheer/service/applicaties", {S}, 200),
    ("GET", "/beheer/service/applicaties/nieuw", {S}, 200),
    ("POST", "/beheer/service/applicaties/nieuw", {S}, 400),
    ("GET", "/beheer/service/applicaties/{client}", {S}, 200),
    ("POST", "/beheer/service/applicaties/{client}", {S}, 400),
    ("POST", "/beheer/service/applicaties/{client}/secret-vernieuwen", {S}, 302),
    ("POST", "/beheer/service/applicaties/{client}/uitschakelen", {S}, 302),
    ("POST", "/beheer/service/applicaties/{client}/inschakelen", {S}, 302),
    ("GET", "/beheer/service/sleutels", {S}, 200),
    ("POST", "/beheer/service/sleutels/roteren", {S}, 302),
    ("POST", "/beheer/service/sleutels/{kid}/intrekken", {S}, 302),
]


def expected(route, who):
    _method, _path, allowed, answer = route
    if who == NOBODY:
        return 302
    return answer if who in allowed else 403


@pytest.fixture
def console(app, client, make_org, make_staff, make_client, invite, mailbox):
    """Two organisations, a staff member of each role in PO2806, a relying party."""
    make_org("PO2806", "PPO Rotterdam")
    make_org("PO2801", "PPO Den Haag")
    invite("PO2806", "Yvonne.testouder", "yvonne@example.org")
    staff = {role: make_staff(role) for role in (M, H, B, S)}
    registered = make_client()
    with app.app_context():
        kid = db.session.scalar(select(SigningKey.kid).where(SigningKey.state == "next"))
    return staff, {"client": registered["client_id"], "kid": kid}


def post_with_token(browser, url, **fields):
    token = pages.form_fields(browser.get("/inloggen").get_data(as_text=True))["csrf_token"]
    return browser.post(url, data={"csrf_token": token, **fields})


@pytest.mark.app_settings(IDP_CONSOLE_ACTIONS_PER_MINUTE=10_000)
def test_role_matrix(app, client, console, mailbox):
    staff, things = console
    from tests.actors import Parent

    parent = Parent(app.test_client(), mailbox, "Ouder.zelf")
    from idp.accounts.actions import Actor, invite as invite_account
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == "PO2806"))
        invite_account(org, "zelf@example.org", "Ouder.zelf", "Ouder Zelf", Actor("tests"))
    parent.activate()
    parent.sign_in()
    browsers = {role: staff[role].browser for role in (M, H, B, S)}
    browsers[PARENT], browsers[NOBODY] = parent.browser, client
    wrong = []
    for route in ROUTES:
        method, path = route[0], route[1]
        for org in ("PO2806", "PO2801") if "{org}" in path else ("PO2806",):
            url = path.format(org=org, **things)
            for who in WHO:
                browser = browsers[who]
                response = browser.get(url) if method == "GET" else post_with_token(browser, url)
                response.get_data()  # (an export streams: read it to the end)
                response.close()
                if response.status_code != expected(route, who):
                    wrong.append(f"{method} {url} as {who}: {response.status_code}, "
                                 f"expected {expected(route, who)}")
    assert wrong == [], "\n".join(wrong)
    with app.app_context():  # nothing above changed a key or a client (nothing was confirmed)
        assert db.session.scalar(select(SigningKey.state).where(SigningKey.kid == things["kid"])) == "next"
        assert db.session.scalar(select(Client.disabled_at)) is None


def test_every_form_refuses_a_post_without_csrf_token(app, console):
    staff, things = console
    wrong = []
    for method, path, allowed, _answer in ROUTES:
        if method != "POST":
            continue
        role = S if S in allowed else B
        url = path.format(org="PO2806", **things)
        response = staff[role].browser.post(url, data={"confirm": "yes", "kid_confirm": things["kid"],
                                                       "name": "X", "code": "X1"})
        if response.status_code != 400:
            wrong.append(f"{url}: {response.status_code}")
    assert wrong == []
    with app.app_context():
        assert db.session.scalar(select(SigningKey.state).where(SigningKey.kid == things["kid"])) == "next"
        assert db.session.scalar(select(Client.disabled_at)) is None
        assert db.session.scalar(select(Organisation).where(Organisation.code == "X1")) is None


def test_a_registered_client_secret_is_shown_once_and_stored_hashed(app, console):
    service = console[0][S]
    form = pages.form_fields(service.page("/beheer/service/applicaties/nieuw").get_data(as_text=True))
    form.update(name="Dossier 2", redirect_uris="https://dossier2.test/cb\nhttps://dossier2.test/cb2",
                backchannel_logout_uri="https://dossier2.test/logout")
    form.pop("public", None)
    form.pop("offline_access", None)
    response = service.browser.post("/beheer/service/applicaties/nieuw", data=form)
    assert response.status_code == 200, pages.text(response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', html).group(1)
    remember(secret)
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.name == "Dossier 2"))
        assert client.client_secret_hash == crypto.token_hash(secret)
        assert client.redirect_uris == ["https://dossier2.test/cb", "https://dossier2.test/cb2"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.register"))
        assert event.target == client.client_id and secret not in json.dumps(event.detail)
        client_id = client.client_id
    for page in ("/beheer/service/applicaties", f"/beheer/service/applicaties/{client_id}"):
        assert secret not in service.page(page).get_data(as_text=True)

    rotated = service.act(f"/beheer/service/applicaties/{client_id}",
                          f"/beheer/service/applicaties/{client_id}/secret-vernieuwen", reason=None)
    new = re.search(r'<code id="client-secret">([^<]+)</code>', rotated.get_data(as_text=True)).group(1)
    remember(new)
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == client_id))
        assert new != secret and client.client_secret_hash == crypto.token_hash(new)
        assert db.session.scalar(select(AuditEvent.actor).where(
            AuditEvent.action == "client.rotate_secret")) == "Servicebeheer PO2806 (servicebeheer, PO2806)"


@pytest.mark.parametrize("uri", [
    pytest.param("http://dossier.test/cb", id="plain-http"),
    pytest.param("https://dossier.test/cb#x", id="fragment"),
    pytest.param("javascript:alert(1)", id="javascript"),
])
def test_bad_redirect_uris_are_refused_as_idp_client_add_does(app, console, uri):
    service, things = console[0][S], console[1]
    url = f"/beheer/service/applicaties/{things['client']}"
    form = pages.form_fields(service.page(url).get_data(as_text=True))
    form["redirect_uris"] = uri
    response = service.browser.post(url, data=form)
    assert response.status_code == 400 and "gebruik https" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Client.redirect_uris)) == ["https://dossier.test/callback"]


def test_a_disabled_client_gets_no_authorization(app, client, console):
    service, things = console[0][S], console[1]
    url = f"/beheer/service/applicaties/{things['client']}"
    service.act(url, url + "/uitschakelen", reason=None)
    response = client.get("/authorize", query_string={
        "client_id": things["client"], "response_type": "code", "scope": "openid",
        "redirect_uri": "https://dossier.test/callback", "nonce": "n", "state": "s",
        "code_challenge": "x" * 43, "code_challenge_method": "S256"})
    assert response.status_code == 400
    service.act(url, url + "/inschakelen", reason=None)
    with app.app_context():
        assert [e for e in db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.startswith("client.")))] == ["client.disable", "client.enable"]


def test_keys_rotate_and_revoke_through_the_console(app, console):
    service = console[0][S]
    clock.advance(120)  # the next keys have been published long enough (2 x IDP_KEYS_CACHE_TTL)
    with app.app_context():
        active = set(db.session.scalars(select(SigningKey.kid).where(SigningKey.state == "active")))
    response = service.act("/beheer/service/sleutels", "/beheer/service/sleutels/roteren", reason=None)
    assert response.status_code == 302
    with app.app_context():
        now_active = set(db.session.scalars(select(SigningKey.kid).where(SigningKey.state == "active")))
        assert now_active.isdisjoint(active)
        kid = sorted(now_active)[0]
    page = service.page("/beheer/service/sleutels").get_data(as_text=True)
    states = dict(re.findall(r"<td><code>([^<]+)</code></td>\s*<td>[^<]+</td>\s*<td>([^<]+)</td>", page))
    assert states[kid] == "tekent"
    assert {states[old] for old in active} == {"met pensioen"}  # in the console's words

    wrong = service.act("/beheer/service/sleutels", f"/beheer/service/sleutels/{kid}/intrekken",
                        reason=None, kid_confirm=kid[:-1])
    with app.app_context():
        assert db.session.scalar(select(SigningKey.state).where(SigningKey.kid == kid)) == "active"
    assert wrong.status_code == 302
    right = service.act("/beheer/service/sleutels", f"/beheer/service/sleutels/{kid}/intrekken",
                        reason=None, kid_confirm=kid)
    assert right.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SigningKey.state).where(SigningKey.kid == kid)) == "revoked"
        assert db.session.scalar(select(AuditEvent.actor).where(
            AuditEvent.action == "signing_key.revoke")).endswith("(servicebeheer, PO2806)")


def test_a_key_revoked_meanwhile_in_another_tab_is_said_so_in_dutch(app, console):
    service, things = console
    service, kid = service[S], things["kid"]
    action = f"/beheer/service/sleutels/{kid}/intrekken"
    html = service.page("/beheer/service/sleutels").get_data(as_text=True)
    [other_tab] = [form for form in pages.forms(html) if form["action"] == action]
    assert service.act("/beheer/service/sleutels", action, reason=None,
                       kid_confirm=kid).status_code == 302
    again = service.browser.post(action, data={**dict(other_tab["fields"]), "kid_confirm": kid})
    assert again.status_code == 302
    page = service.page("/beheer/service/sleutels").get_data(as_text=True)
    assert pages.messages(page) == ["Niet ingetrokken: deze sleutel was al ingetrokken."]
    with app.app_context():
        assert [e for e in db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "signing_key.revoke"))] == ["signing_key.revoke"]


def test_revoking_a_key_asks_a_fresh_code(app, console):
    service, things = console
    service = service[S]
    clock.advance(app.config["IDP_CONSOLE_STEP_UP_TTL"] + 1)
    service.page("/beheer/")  # (the session stays alive: it is used)
    response = service.act("/beheer/service/sleutels", f"/beheer/service/sleutels/{things['kid']}/intrekken",
                           reason=None, kid_confirm=things["kid"])
    assert response.status_code == 302 and "/beheer/bevestigen" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(SigningKey.state).where(SigningKey.kid == things["kid"])) == "next"


def test_organisations_are_created_and_edited_with_an_audit_trail(app, console):
    service = console[0][S]
    form = pages.form_fields(service.page("/beheer/service/organisaties/nieuw").get_data(as_text=True))
    form.update(code="PO3000", name="PPO Utrecht", helpdesk_contact="helpdesk@ppo-utrecht.test")
    form.pop("four_eyes_reset", None)
    assert service.browser.post("/beheer/service/organisaties/nieuw", data=form).status_code == 302
    again = service.browser.post("/beheer/service/organisaties/nieuw", data=form)
    assert again.status_code == 400 and "al een organisatie" in again.get_data(as_text=True)
    form = pages.form_fields(service.page("/beheer/service/organisaties/PO3000").get_data(as_text=True))
    form.update(four_eyes_reset="y", name="PPO Utrecht e.o.")
    assert service.browser.post("/beheer/service/organisaties/PO3000", data=form).status_code == 302
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == "PO3000"))
        assert (org.name, org.requires_2fa, org.four_eyes_reset, org.helpdesk_contact) == (
            "PPO Utrecht e.o.", True, True, "helpdesk@ppo-utrecht.test")
        update = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "organisation.update"))
        assert update.detail["changes"] == {"name": ["PPO Utrecht", "PPO Utrecht e.o."],
                                            "four_eyes_reset": [False, True]}


def test_audit_export_has_the_own_organisation_only_escaped(app, console):
    staff = console[0]
    with app.app_context():
        from idp import audit
        orgs = {o.code: o.id for o in db.session.scalars(select(Organisation))}
        audit.record("=cmd|' /C calc'!A0", "account.update", "t1", organisation_id=orgs["PO2806"])
        audit.record("Other", "account.update", "t2", organisation_id=orgs["PO2801"])
        db.session.commit()
    response = staff[B].page("/beheer/auditlog/export.csv?action=account.update")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")),
                               delimiter=";"))
    assert [(r["actor"], r["target"]) for r in rows] == [("'=cmd|' /C calc'!A0", "t1")]
    lines = staff[S].page("/beheer/service/auditlog/export.jsonl?action=account.update").get_data(as_text=True)
    assert [json.loads(line)["target"] for line in lines.splitlines()] == ["t1", "t2"]
    with app.app_context():
        exports = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")
                                          .order_by(AuditEvent.id)))
    assert [e.detail["format"] for e in exports] == ["csv", "jsonl"]
    assert exports[0].organisation_id == orgs["PO2806"] and exports[1].organisation_id is None
    page = staff[B].page("/beheer/auditlog").get_data(as_text=True)
    assert "t2" not in page and "=cmd|" in page  # (escaped as HTML by the template)


def test_csv_import_through_the_console_dry_run_then_confirm(app, console, mailbox):
    medewerker = console[0][M]
    text = "email;name\nan@example.org;An de Vries\nnot-an-address;Bo\nyvonne@example.org;Yvonne\n"
    token = pages.form_fields(medewerker.page("/beheer/ouders/importeren").get_data(as_text=True))
    mails = len(mailbox.messages())
    dry = medewerker.browser.post("/beheer/ouders/importeren", data={
        "csrf_token": token["csrf_token"], "file": (io.BytesIO(text.encode("utf-8-sig")), "ouders.csv")},
        content_type="multipart/form-data")
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "geen geldig e-mailadres" in html and "Al uitgenodigd" in html
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.email == "an@example.org")) is None
    assert len(mailbox.messages()) == mails
    [confirm] = [f for f in pages.forms(html) if f["action"] == "/beheer/ouders/importeren/uitvoeren"]
    fields = dict(confirm["fields"], confirm="yes")
    done = medewerker.browser.post("/beheer/ouders/importeren/uitvoeren", data=fields)
    assert done.status_code == 200 and "klaar" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Account.status).where(Account.email == "an@example.org")) == "invited"
    assert mailbox.last()["To"] == "an@example.org"
    again = medewerker.browser.post("/beheer/ouders/importeren/uitvoeren", data=fields)
    assert again.status_code == 302  # the upload is used up: nothing runs twice


def test_a_large_file_is_accepted_on_the_import_page_only(app, console):
    """The import page takes a file of megabytes (multipart); every other form keeps its 64 KiB."""
    medewerker = console[0][M]
    text = "email;username\n" + "".join(f"ouder{n}@example.org;Ouder.{n}\n" for n in range(4000))
    assert len(text) > 100_000
    token = pages.form_fields(medewerker.page("/beheer/ouders/importeren").get_data(as_text=True))
    dry = medewerker.browser.post("/beheer/ouders/importeren", data={
        "csrf_token": token["csrf_token"], "file": (io.BytesIO(text.encode()), "ouders.csv")},
        content_type="multipart/form-data")
    assert dry.status_code == 200 and "4000" in pages.text(dry.get_data(as_text=True))
    elsewhere = medewerker.browser.post("/beheer/ouders/uitnodigen", data={
        "csrf_token": token["csrf_token"], "file": (io.BytesIO(text.encode()), "ouders.csv")},
        content_type="multipart/form-data")
    assert elsewhere.status_code in (413, 415)
