"""'Wachtwoord vergeten?': from the sign-in page, the parent gives organisation and username (or
e-mail address) and gets an e-mail with a single-use link to choose a new password. A parent
whose account was never activated gets a new activation link instead. What the page says never
depends on whether the account exists (tests/security/test_self_service_abuse.py)."""

import re

import pytest
from sqlalchemy import select, update

from idp import clock, crypto, worker
from idp.extensions import db
from idp.models import Account, AccountLink, AuditEvent, Organisation
from idp.models.account_link import PASSWORD_RESET
from tests import pages
from tests.actors import Parent, RelyingParty, authenticator_code
from tests.test_oidc_flow import sign_in_at

SENT_TITLE = "Kijk in uw e-mail"


def post(browser, drop=(), **fields):
    page = browser.get("/wachtwoord-vergeten")
    data = pages.form_fields(page.get_data(as_text=True))
    data.update(fields)
    response = browser.post("/wachtwoord-vergeten",
                            data={k: v for k, v in data.items() if k not in drop})
    response.close()  # the browser read the whole answer: now the e-mail goes out
    return response


def reset_links(app, username="Yvonne.testouder"):
    with app.app_context():
        return db.session.scalars(
            select(AccountLink).join(Account).where(Account.username == username,
                                                    AccountLink.purpose == PASSWORD_RESET)
        ).all()


def test_the_sign_in_page_leads_to_forgotten_password_and_lost_phone(client, make_org):
    make_org()
    html = client.get("/inloggen").get_data(as_text=True)
    assert 'href="/wachtwoord-vergeten">Wachtwoord vergeten?</a>' in html
    assert 'href="/telefoon-kwijt">Telefoon kwijt of nieuw?</a>' in html
    page = client.get("/wachtwoord-vergeten")
    assert page.status_code == 200
    text = pages.text(page.get_data(as_text=True))
    assert "Organisatie" in text and "Gebruikersnaam of e-mailadres" in text


def test_the_form_asks_for_what_a_phone_should_fill_in(client, make_org):
    make_org()
    html = client.get("/wachtwoord-vergeten").get_data(as_text=True)
    identifier = re.search(r'<input[^>]*id="identifier"[^>]*>', html).group(0)
    assert 'autocomplete="username"' in identifier and 'autocapitalize="none"' in identifier
    assert '<label for="identifier">' in html and '<label for="organisation">' in html


@pytest.mark.parametrize("identifier", ["Yvonne.testouder", "yvonne@example.org",
                                        "YVONNE@Example.org"],
                         ids=["username", "e-mail address", "e-mail address in capitals"])
def test_an_active_account_gets_a_single_use_link_by_email(app, parent, mailbox, identifier):
    before = mailbox.count()
    response = post(parent.browser, organisation="PO2806", identifier=identifier)
    assert response.status_code == 200
    assert SENT_TITLE in pages.text(response.get_data(as_text=True))
    assert mailbox.count() == before + 1
    message = mailbox.last()
    assert message["To"] == "yvonne@example.org"
    assert "Nieuw wachtwoord" in message["Subject"]
    link = parent.link_in_last_email()
    assert link.startswith("http://idp.test/herstellen/")
    token = link.rsplit("/", 1)[1]
    [stored] = reset_links(app)
    assert stored.token_hash == crypto.token_hash(token)  # only its hash is kept
    assert stored.requested_by == "self" and stored.used_at is None
    assert stored.expires_at - stored.issued_at == 30 * 60


def test_asking_is_recorded_in_the_audit_log_without_the_link(app, parent, mailbox):
    post(parent.browser, organisation="PO2806", identifier="Yvonne.testouder")
    token = parent.link_in_last_email().rsplit("/", 1)[1]
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "account.password_reset_sent")).all()
        assert [(e.actor, e.ip) for e in events] == [("self", "127.0.0.1")]
        assert token not in repr([(e.target, e.detail) for e in events])


def test_usernames_are_case_sensitive_here_too(parent, mailbox):
    before = mailbox.count()
    response = post(parent.browser, organisation="PO2806", identifier="yvonne.testouder")
    assert response.status_code == 200 and SENT_TITLE in pages.text(response.get_data(as_text=True))
    assert mailbox.count() == before


def test_a_pending_account_gets_a_new_activation_link_and_the_old_one_dies(
        app, client, mailbox, make_org, invite, frozen_clock):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    old_link = parent.activation_link()
    post(client, organisation="PO2806", identifier="Yvonne.testouder")
    assert mailbox.count() == 2
    assert "Welkom, nieuwe gebruiker" in mailbox.last()["Subject"]
    new_link = parent.activation_link()
    assert new_link != old_link
    assert parent.open_activation(old_link).status_code == 410
    assert parent.open_activation(new_link).status_code == 200
    assert reset_links(app) == []


def test_a_disabled_account_gets_nothing(app, parent, mailbox):
    with app.app_context():
        db.session.execute(update(Account).values(status="disabled"))
        db.session.commit()
    before = mailbox.count()
    response = post(parent.browser, organisation="PO2806", identifier="Yvonne.testouder")
    assert response.status_code == 200 and SENT_TITLE in pages.text(response.get_data(as_text=True))
    assert mailbox.count() == before


def test_without_a_linked_app_a_two_factor_account_gets_no_link(app, parent, mailbox):
    """After a helpdesk reset of the app (or where the organisation started asking a code later)
    there is no code to confirm a new password with: a link would let the e-mail alone choose
    the password and then link an app. The same answer, and no e-mail."""
    with app.app_context():
        db.session.execute(update(Account).values(totp_secret_encrypted=None))
        db.session.commit()
    before = mailbox.count()
    response = post(parent.browser, organisation="PO2806", identifier="Yvonne.testouder")
    assert response.status_code == 200 and SENT_TITLE in pages.text(response.get_data(as_text=True))
    assert mailbox.count() == before
    assert reset_links(app) == []


def test_one_address_with_two_accounts_gets_an_email_for_each(app, client, mailbox, make_org,
                                                               invite, frozen_clock):
    make_org()
    for username in ("Yvonne.testouder", "Yvonne.tweede"):
        invite(username=username)
        Parent(client, mailbox, username=username).activate()
    before = mailbox.count()
    post(client, organisation="PO2806", identifier="yvonne@example.org")
    assert mailbox.count() == before + 2
    assert {len(reset_links(app, name)) for name in ("Yvonne.testouder", "Yvonne.tweede")} == {1}


def test_the_answer_names_the_organisations_helpdesk(app, parent):
    with app.app_context():
        db.session.execute(update(Organisation).values(
            helpdesk_contact="de PPO helpdesk, 010 123 45 67"))
        db.session.commit()
    text = pages.text(post(parent.browser, organisation="PO2806",
                           identifier="Yvonne.testouder").get_data(as_text=True))
    assert "Geen e-mail gekregen? Neem contact op met de PPO helpdesk, 010 123 45 67." in text
    assert "30 minuten" in text and "de code uit de app Google Authenticator" in text


def test_without_a_helpdesk_contact_the_answer_names_the_organisation(parent):
    text = pages.text(post(parent.browser, organisation="PO2806",
                           identifier="Yvonne.testouder").get_data(as_text=True))
    assert ("Vraag hulp aan de intern begeleider of de PPO medewerker van PPO Rotterdam."
            in text)


def test_a_new_request_voids_the_previous_link(app, parent, mailbox):
    post(parent.browser, organisation="PO2806", identifier="Yvonne.testouder")
    clock.advance(60)
    post(parent.browser, organisation="PO2806", identifier="Yvonne.testouder")
    links = reset_links(app)
    assert len(links) == 2
    now = clock.timestamp()
    assert [link.expires_at > now for link in links] == [False, True]


@pytest.mark.parametrize("fields, drop, field, message", [
    ({"organisation": "", "identifier": "Yvonne.testouder"}, (), "organisation",
     "Kies uw organisatie."),
    ({"organisation": "PO9999", "identifier": "Yvonne.testouder"}, (), "organisation",
     "Kies uw organisatie."),
    ({"organisation": "PO2806", "identifier": "  "}, (), "identifier",
     "Vul uw gebruikersnaam of uw e-mailadres in."),
    ({"organisation": "PO2806", "identifier": "x" * 321}, (), "identifier",
     "Dit is te lang: gebruik hoogstens 320 tekens."),
], ids=["no organisation", "unknown organisation", "nothing typed", "too long"])
def test_a_form_filled_in_wrongly_says_what_to_fix_at_the_top_and_sends_nothing(
        parent, mailbox, fields, drop, field, message):
    before = mailbox.count()
    response = post(parent.browser, drop, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    summary = re.search(r'<div class="error-summary".*?</div>', html, flags=re.S).group(0)
    assert f'<a href="#{field}">{message}</a>' in summary
    assert pages.field_errors(html)[field] == [message]
    assert mailbox.count() == before


def test_without_the_csrf_token_nothing_is_sent(parent, mailbox):
    before = mailbox.count()
    response = post(parent.browser, drop=("csrf_token",), organisation="PO2806",
                    identifier="Yvonne.testouder")
    assert response.status_code == 400
    assert pages.messages(response.get_data(as_text=True)) == [
        "Deze pagina was verlopen. Vul het formulier opnieuw in en probeer het nog eens."]
    assert mailbox.count() == before


def test_when_mail_cannot_be_sent_the_parent_still_gets_the_same_answer(app, parent):
    app.config["IDP_SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    response = post(parent.browser, organisation="PO2806", identifier="Yvonne.testouder")
    assert response.status_code == 200
    assert SENT_TITLE in pages.text(response.get_data(as_text=True))


def test_the_pages_have_english_too(parent):
    parent.browser.get("/wachtwoord-vergeten?lang=en")
    page = parent.browser.get("/wachtwoord-vergeten")
    assert "Forgotten your password?" in pages.text(page.get_data(as_text=True))
    answer = post(parent.browser, organisation="PO2806", identifier="Yvonne.testouder")
    assert "Check your e-mail" in pages.text(answer.get_data(as_text=True))


# --- end to end: the e-mailed link (helper accounts' /herstellen page) ----------------------
NEW_PASSWORD = "zeilen op het haringvliet 2027"


def open_link(parent, link):
    """Open the e-mailed link: the token leaves the address bar at once."""
    first = parent.browser.get(link)
    assert first.status_code == 302 and first.headers["Location"] == "/herstellen"
    return parent.browser.get("/herstellen")


def open_reset_page(parent):
    parent.forgot_password()
    return open_link(parent, parent.link_in_last_email())


def choose(parent, page, **changes):
    fields = pages.form_fields(page.get_data(as_text=True))
    fields.update(password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    fields.update(changes)
    return parent.browser.post("/herstellen", data=fields)


def test_the_email_alone_cannot_take_over_a_two_factor_account(app, parent, mailbox):
    """Someone who reads the parent's e-mail but has no phone: the page wants the app's code."""
    with app.app_context():
        old_hash = db.session.scalar(select(Account.password_hash))
    page = open_reset_page(parent)
    assert 'id="code"' in page.get_data(as_text=True)
    for code in ("", "000000"):
        response = choose(parent, page, code=code)
        assert response.status_code == 400
        with app.app_context():
            assert db.session.scalar(select(Account.password_hash)) == old_hash
    assert parent.sign_in(password=NEW_PASSWORD).status_code == 400


def test_the_link_sets_a_new_password_once_and_ends_every_session(
        app, parent, mailbox, make_client, logout_receiver):
    made = make_client(name="Dossier", backchannel_logout_uri=logout_receiver.uri)
    elsewhere = Parent(app.test_client(), mailbox)
    elsewhere.secret = parent.secret
    rp = RelyingParty(elsewhere.browser, made["client_id"], made["client_secret"],
                      made["redirect_uri"])
    id_token = rp.validate_id_token(rp.exchange(sign_in_at(rp, elsewhere)["code"])
                                    .get_json()["id_token"])
    clock.advance(30)
    parent.forgot_password()
    link = parent.link_in_last_email()
    response = choose(parent, open_link(parent, link), code=authenticator_code(parent.secret))
    assert response.status_code == 302 and response.headers["Location"] == "/inloggen?hersteld=1"
    assert "Uw wachtwoord is gewijzigd" in mailbox.last()["Subject"]
    with app.app_context():
        worker.run_once()
    [token] = logout_receiver.tokens
    assert rp.verify_logout_token(token)["sid"] == id_token["sid"]
    assert open_link(parent, link).status_code == 410  # the link works once
    clock.advance(30)
    assert parent.sign_in(password=NEW_PASSWORD).status_code == 302


def test_the_link_expires_after_thirty_minutes(parent):
    parent.forgot_password()
    link = parent.link_in_last_email()
    clock.advance(30 * 60 + 1)
    assert open_link(parent, link).status_code == 410
