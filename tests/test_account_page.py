"""The account page (/account): who is signed in, the active sign-ins with 'Overal uitloggen',
changing the password (current password and code; the other sessions end, with back-channel
logouts), and the language. Signed-in parents only; the 10-minute idle rule applies."""

import re

import pytest
from sqlalchemy import select, update

from idp import clock, worker
from idp.extensions import db
from idp.models import Account, AccountLink, AuditEvent
from tests import pages
from tests.actors import PASSWORD, Parent, RelyingParty, authenticator_code
from tests.test_oidc_flow import sign_in_at
from tests.test_sign_in import is_signed_in

NEW_PASSWORD = "zeilen op het haringvliet 2027"
WRONG_CURRENT = ("Het huidige wachtwoord of de code klopt niet. Let op hoofdletters en kleine "
                 "letters, en gebruik de code die de app nu laat zien.")
CHANGED = "Uw wachtwoord is gewijzigd. Op uw andere apparaten bent u uitgelogd."


@pytest.fixture
def signed_in(parent):
    assert parent.sign_in().status_code == 302
    clock.advance(30)  # a new code for whatever comes next
    return parent


@pytest.fixture
def second_device(app, signed_in, make_client, logout_receiver):
    """Yvonne on a second device, signed in at the dossier (which hears back-channel logouts)."""
    made = make_client(name="Dossier", backchannel_logout_uri=logout_receiver.uri)
    other = Parent(app.test_client(), signed_in.mailbox)
    other.secret = signed_in.secret
    rp = RelyingParty(other.browser, made["client_id"], made["client_secret"], made["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, other)["code"]).get_json()
    clock.advance(30)
    return other, rp, rp.validate_id_token(tokens["id_token"]), logout_receiver


def account_page(browser):
    response = browser.get("/account")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def change_password(browser, drop=(), **changes):
    page = browser.get("/account/wachtwoord")
    fields = pages.form_fields(page.get_data(as_text=True))
    fields.update(changes)
    return browser.post("/account/wachtwoord",
                        data={k: v for k, v in fields.items() if k not in drop})


def right_change(parent, **changes):
    fields = dict(current_password=PASSWORD, code=authenticator_code(parent.secret),
                  password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    fields.update(changes)
    return fields


def audit_actions(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.actor, e.action) for e in db.session.scalars(select(AuditEvent))]


# --- the page ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/account", "/account/wachtwoord", "/account/app-verplaatsen"])
def test_only_for_a_signed_in_parent(parent, path):
    response = parent.browser.get(path)
    assert response.status_code == 302 and response.headers["Location"] == "/inloggen"


def test_shows_organisation_username_and_email(signed_in):
    text = pages.text(account_page(signed_in.browser))
    for words in ("PO2806 PPO Rotterdam", "Yvonne.testouder", "yvonne@example.org",
                  "Wachtwoord wijzigen", "Authenticator verplaatsen", "Telefoon kwijt of nieuw?",
                  "Overal uitloggen", "Taal"):
        assert words in text, words


def test_the_home_page_is_the_account_page(signed_in):
    assert "yvonne@example.org" in pages.text(signed_in.browser.get("/").get_data(as_text=True))


def test_ten_minutes_idle_ends_it(signed_in):
    clock.advance(601)
    response = signed_in.browser.get("/account")
    assert response.status_code == 302 and response.headers["Location"] == "/inloggen"


def test_lists_the_active_sign_ins_with_their_websites(second_device, signed_in):
    html = account_page(signed_in.browser)
    entries = re.findall(r"<li>\s*<strong>(.*?)</strong>(.*?)</li>",
                         html[html.index('class="sign-ins"'):], flags=re.S)
    assert [name for name, _ in entries] == [
        "Dit apparaat", "Een ander apparaat of een andere browser"]
    details = [pages.text(rest) for _, rest in entries]
    assert all(re.search(r"Ingelogd op \d+ \w+ \d{4}, \d\d:\d\d, laatst gebruikt op", d)
               for d in details), details
    assert "Websites: Dossier" in details[1] and "Websites" not in details[0]


def test_the_language_can_be_chosen_here(signed_in):
    html = account_page(signed_in.browser)
    section = html[html.index("<h2>Taal</h2>"):]
    link = re.search(r'<a href="([^"]+)" hreflang="en"', section).group(1)
    assert signed_in.browser.get("/account" + link).status_code == 302
    assert "My account" in pages.text(account_page(signed_in.browser))


# --- Overal uitloggen ---------------------------------------------------------------------
def test_sign_out_everywhere_ends_every_session_with_back_channel_logouts(
        app, second_device, signed_in):
    other, rp, id_token, receiver = second_device
    page = account_page(signed_in.browser)
    form = pages.forms(page)[[f["action"] for f in pages.forms(page)].index(
        "/account/overal-uitloggen")]["fields"]
    response = signed_in.browser.post("/account/overal-uitloggen", data=form)
    assert response.status_code == 200
    assert pages.messages(response.get_data(as_text=True), "ok") == [
        "U bent op al uw apparaten uitgelogd. U kunt dit venster sluiten."]
    assert not is_signed_in(signed_in.browser) and not is_signed_in(other.browser)
    with app.app_context():
        worker.run_once()
    [token] = receiver.tokens
    assert rp.verify_logout_token(token)["sid"] == id_token["sid"]
    assert ("self", "account.end_sessions") in audit_actions(app)


def test_sign_out_everywhere_needs_the_csrf_token(second_device, signed_in):
    other = second_device[0]
    response = signed_in.browser.post("/account/overal-uitloggen", data={})
    assert response.status_code == 400
    assert is_signed_in(signed_in.browser) and is_signed_in(other.browser)


# --- changing the password ------------------------------------------------------------------
def test_the_form_names_what_a_password_manager_needs(signed_in):
    html = signed_in.browser.get("/account/wachtwoord").get_data(as_text=True)
    autocomplete = {field: kind for kind, field in
                    re.findall(r'<input[^>]*autocomplete="([^"]+)"[^>]*id="([^"]+)"', html)}
    assert autocomplete == {"current_password": "current-password", "code": "one-time-code",
                            "password": "new-password", "password_again": "new-password"}
    assert 'inputmode="numeric"' in re.search(r'<input[^>]*\bid="code"[^>]*>', html).group(0)


def test_a_change_ends_the_other_sessions_and_keeps_this_one(app, second_device, signed_in,
                                                              mailbox):
    other, rp, id_token, receiver = second_device
    before = mailbox.count()
    response = change_password(signed_in.browser, **right_change(signed_in))
    assert response.status_code == 302 and response.headers["Location"] == "/account?gedaan=wachtwoord"
    page = signed_in.browser.get(response.headers["Location"]).get_data(as_text=True)
    assert pages.messages(page, "ok") == [CHANGED]
    assert is_signed_in(signed_in.browser) and not is_signed_in(other.browser)
    with app.app_context():
        worker.run_once()
    [token] = receiver.tokens
    assert rp.verify_logout_token(token)["sid"] == id_token["sid"]
    assert mailbox.count() == before + 1
    assert "Uw wachtwoord is gewijzigd" in mailbox.last()["Subject"]
    assert ("self", "account.password_change") in audit_actions(app)
    clock.advance(30)
    assert other.sign_in().status_code == 400  # the old password no longer works
    assert other.sign_in(password=NEW_PASSWORD).status_code == 302


def test_a_change_voids_an_emailed_reset_link(app, signed_in):
    signed_in.forgot_password()
    change_password(signed_in.browser, **right_change(signed_in))
    with app.app_context():
        [link] = db.session.scalars(select(AccountLink)).all()
        assert link.expires_at <= clock.timestamp()


@pytest.mark.parametrize("changes", [
    {"current_password": "fietsen langs de rijn 2026"},
    {"code": "000000"},
], ids=["wrong current password", "wrong code"])
def test_wrong_current_credentials_change_nothing(app, signed_in, changes):
    with app.app_context():
        old_hash = db.session.scalar(select(Account.password_hash))
    response = change_password(signed_in.browser, **right_change(signed_in, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    summary = re.search(r'<div class="error-summary".*?</div>', html, flags=re.S).group(0)
    assert WRONG_CURRENT in pages.text(summary)
    with app.app_context():
        assert db.session.scalar(select(Account.password_hash)) == old_hash


def test_a_code_changes_the_password_once(signed_in):
    fields = right_change(signed_in)
    assert change_password(signed_in.browser, **fields).status_code == 302
    again = right_change(signed_in, current_password=NEW_PASSWORD, code=fields["code"],
                         password="varen naar de biesbosch 2028",
                         password_again="varen naar de biesbosch 2028")
    assert change_password(signed_in.browser, **again).status_code == 400  # replayed code


def test_a_weak_new_password_is_refused_and_the_code_stays_usable(signed_in):
    fields = right_change(signed_in, password="kort", password_again="kort")
    response = change_password(signed_in.browser, **fields)
    errors = pages.field_errors(response.get_data(as_text=True))
    assert response.status_code == 400 and errors["password"][0].startswith("Kies een wachtwoord van minstens 10")
    retry = right_change(signed_in, code=fields["code"])  # the same code, not used up
    assert change_password(signed_in.browser, **retry).status_code == 302


def test_the_two_new_passwords_must_match(signed_in):
    response = change_password(signed_in.browser,
                               **right_change(signed_in, password_again=NEW_PASSWORD + "!"))
    assert pages.field_errors(response.get_data(as_text=True))["password_again"] == [
        "De twee wachtwoorden zijn niet hetzelfde. Probeer het opnieuw."]


def test_guessing_the_current_password_is_throttled_like_sign_in(app, signed_in, mailbox):
    for _ in range(5):
        response = change_password(signed_in.browser, **right_change(
            signed_in, current_password="fietsen langs de rijn 2026", code="123456"))
        assert response.status_code == 400
    refused = change_password(signed_in.browser, **right_change(signed_in))
    assert refused.status_code == 400 and WRONG_CURRENT in pages.text(refused.get_data(as_text=True))
    clock.advance(30)
    assert change_password(signed_in.browser, **right_change(signed_in)).status_code == 302


def test_without_the_csrf_token_nothing_changes(app, signed_in):
    response = change_password(signed_in.browser, drop=("csrf_token",), **right_change(signed_in))
    assert response.status_code == 400
    assert pages.messages(response.get_data(as_text=True)) == [
        "Deze pagina was verlopen. Vul het formulier opnieuw in en probeer het nog eens."]


def test_without_two_factor_no_code_is_asked(app, client, mailbox, make_org, invite, frozen_clock):
    make_org(code="PO3000", name="PPO Zonder Code", requires_2fa=False)
    invite(org_code="PO3000")
    parent = Parent(client, mailbox, org="PO3000")
    password = "een heel lang wachtwoord zonder code 2026"
    parent.activate(password)
    assert parent.sign_in(password=password).status_code == 302
    html = client.get("/account/wachtwoord").get_data(as_text=True)
    assert 'id="code"' not in html
    assert "Authenticator verplaatsen" not in pages.text(account_page(client))
    new = "nog een heel lang wachtwoord zonder code 2027"
    response = change_password(client, current_password=password, password=new,
                               password_again=new)
    assert response.status_code == 302


def test_staying_signed_in_needs_an_active_account(app, signed_in):
    with app.app_context():
        db.session.execute(update(Account).values(status="disabled"))
        db.session.commit()
    assert signed_in.browser.get("/account").status_code == 302
