"""A new phone. With the old one: 'Authenticator verplaatsen' on the account page (the old app's
code, then a QR code and key, then the new app's code; the old secret stops at once). Without
it: 'Telefoon kwijt of nieuw?' says what to do and whom to contact. And linking an app on the
same phone the page is open on: the otpauth link and 'Kopieer sleutel'."""

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from idp import clock
from idp.extensions import db
from idp.models import Account, AuditEvent, Organisation
from tests import pages
from tests.actors import authenticator_code, decode_qr
from tests.test_account_page import signed_in  # noqa: F401  (the fixture)
from tests.test_sign_in import is_signed_in

OLD_CODE_WRONG = ("Deze code klopt niet. Vul de code in die de app op uw oude telefoon nu laat "
                  "zien. Heeft u die code net al gebruikt? Wacht dan op de volgende code.")
NEW_CODE_WRONG = ("Deze code klopt niet. Vul de code in die de app nu laat zien; de code "
                  "verandert elke 30 seconden.")
MOVE_OVER = "Het verplaatsen duurde te lang of is ergens anders al gedaan. Begin opnieuw."
MOVED = ("Uw nieuwe telefoon is gekoppeld. Gebruik vanaf nu de code uit de app op uw nieuwe "
         "telefoon. De codes van uw oude telefoon werken niet meer.")
PATH = "/account/app-verplaatsen"


def submit_code(browser, code, drop=()):
    page = browser.get(PATH)
    fields = pages.form_fields(page.get_data(as_text=True))
    fields["code"] = code
    return browser.post(PATH, data={k: v for k, v in fields.items() if k not in drop})


def new_phone_secret(html: str) -> str:
    """What the new phone's camera reads from the QR code."""
    return parse_qs(urlsplit(decode_qr(html)).query)["secret"][0]


def start_move(parent) -> str:
    """Step 1 with the old phone's code; returns the step-2 page."""
    response = submit_code(parent.browser, authenticator_code(parent.secret))
    assert response.status_code == 302 and response.headers["Location"] == PATH
    page = parent.browser.get(PATH)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def stored_secret(app):
    with app.app_context():
        return db.session.scalar(select(Account.totp_secret_encrypted))


# --- with the old phone -------------------------------------------------------------------
def test_step_one_asks_for_the_old_phones_code(signed_in):
    page = signed_in.browser.get(PATH)
    text = pages.text(page.get_data(as_text=True))
    assert page.status_code == 200
    assert "Stap 1 van 2: uw oude telefoon" in text and "Oude telefoon kwijt of kapot?" in text


def test_moving_links_the_new_phone_and_the_old_one_stops_at_once(app, signed_in, mailbox):
    old_secret = signed_in.secret
    html = start_move(signed_in)
    assert "Stap 2 van 2: uw nieuwe telefoon" in pages.text(html)
    new_secret = new_phone_secret(html)
    assert new_secret != old_secret
    assert signed_in.scan_key(html) == new_secret  # the key shows the same secret
    before = mailbox.count()
    response = submit_code(signed_in.browser, authenticator_code(new_secret))
    assert response.status_code == 302 and response.headers["Location"] == "/account?gedaan=app"
    page = signed_in.browser.get(response.headers["Location"]).get_data(as_text=True)
    assert pages.messages(page, "ok") == [MOVED]
    assert mailbox.count() == before + 1 and "Uw nieuwe app is gekoppeld" in mailbox.last()["Subject"]
    with app.app_context():
        assert [(e.actor, e.action) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "account.authenticator_moved"))] == [
            ("self", "account.authenticator_moved")]
    signed_in.log_out()
    clock.advance(30)
    assert signed_in.sign_in(code=authenticator_code(old_secret)).status_code == 400
    signed_in.secret = new_secret
    assert signed_in.sign_in().status_code == 302


def test_the_new_phones_first_code_cannot_sign_in_as_well(signed_in):
    new_secret = new_phone_secret(start_move(signed_in))
    code = authenticator_code(new_secret)
    assert submit_code(signed_in.browser, code).status_code == 302
    signed_in.log_out()
    signed_in.secret = new_secret
    assert signed_in.sign_in(code=code).status_code == 400


def test_a_wrong_old_code_goes_no_further(app, signed_in):
    response = submit_code(signed_in.browser, "000000")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and pages.field_errors(html)["code"] == [OLD_CODE_WRONG]
    assert f'<a href="#code">{html_lib.escape(OLD_CODE_WRONG, quote=False)}</a>' in html
    assert "Stap 1 van 2" in pages.text(signed_in.browser.get(PATH).get_data(as_text=True))


def test_the_code_used_to_sign_in_cannot_start_it(signed_in):
    clock.advance(-30)
    used = authenticator_code(signed_in.secret)  # the code the sign-in used
    clock.advance(30)
    assert submit_code(signed_in.browser, used).status_code == 400


def test_a_wrong_new_code_keeps_the_old_phone(app, signed_in):
    before = stored_secret(app)
    start_move(signed_in)
    response = submit_code(signed_in.browser, "000000")
    assert response.status_code == 400
    assert pages.field_errors(response.get_data(as_text=True))["code"] == [NEW_CODE_WRONG]
    assert stored_secret(app) == before
    assert "Stap 2 van 2" in pages.text(signed_in.browser.get(PATH).get_data(as_text=True))


def test_guessing_old_codes_is_throttled_like_sign_in(signed_in):
    for _ in range(5):
        submit_code(signed_in.browser, "000000")
    assert submit_code(signed_in.browser, authenticator_code(signed_in.secret)).status_code == 400
    clock.advance(30)
    assert submit_code(signed_in.browser, authenticator_code(signed_in.secret)).status_code == 302


def test_the_move_expires(app, signed_in):
    before = stored_secret(app)
    new_secret = new_phone_secret(start_move(signed_in))
    for _ in range(2):  # keep the sign-in alive, let the move expire (15 minutes)
        clock.advance(500)
        signed_in.browser.get("/account")
    page = signed_in.browser.get(PATH)
    fields = pages.form_fields(page.get_data(as_text=True))
    assert "Stap 1 van 2" in pages.text(page.get_data(as_text=True))
    fields["code"] = authenticator_code(new_secret)
    assert signed_in.browser.post(PATH, data=fields).status_code == 400
    assert stored_secret(app) == before


def test_the_move_belongs_to_its_sign_in(app, signed_in):
    new_secret = new_phone_secret(start_move(signed_in))
    clock.advance(30)
    assert signed_in.sign_in().status_code == 302  # signed in again: a new session
    page = signed_in.browser.get(PATH).get_data(as_text=True)
    assert "Stap 1 van 2" in pages.text(page)
    assert submit_code(signed_in.browser, authenticator_code(new_secret)).status_code == 400


def test_a_helpdesk_reset_during_the_move_wins(app, signed_in):
    new_secret = new_phone_secret(start_move(signed_in))
    with app.app_context():
        db.session.execute(update(Account).values(totp_secret_encrypted=b"\x01" + b"0" * 40))
        db.session.commit()
    response = submit_code(signed_in.browser, authenticator_code(new_secret))
    assert response.status_code == 409
    assert MOVE_OVER in pages.text(response.get_data(as_text=True))
    assert stored_secret(app) == b"\x01" + b"0" * 40


def test_without_the_csrf_token_nothing_moves(app, signed_in):
    assert submit_code(signed_in.browser, authenticator_code(signed_in.secret),
                       drop=("csrf_token",)).status_code == 400
    assert "Stap 1 van 2" in pages.text(signed_in.browser.get(PATH).get_data(as_text=True))


def test_start_again_shows_a_new_key(signed_in):
    first = new_phone_secret(start_move(signed_in))
    page = signed_in.browser.get(PATH + "?opnieuw=1").get_data(as_text=True)
    assert "Stap 1 van 2" in pages.text(page)
    clock.advance(30)
    assert new_phone_secret(start_move(signed_in)) != first


# --- without the old phone ------------------------------------------------------------------
def test_lost_phone_page_says_what_to_do_and_whom_to_contact(app, client, make_org):
    make_org()
    make_org(code="PO2807", name="PPO Delft")
    with app.app_context():
        db.session.execute(update(Organisation).where(Organisation.code == "PO2806").values(
            helpdesk_contact="de PPO helpdesk, 010 123 45 67, helpdesk@ppo.example"))
        db.session.commit()
    page = client.get("/telefoon-kwijt")
    text = pages.text(page.get_data(as_text=True))
    assert page.status_code == 200
    for words in ("Telefoon kwijt of nieuw?", "Werkt uw oude telefoon nog?",
                  "Authenticator verplaatsen",
                  "Is uw oude telefoon kwijt, kapot of gestolen?",
                  "Uw wachtwoord blijft hetzelfde.",
                  "PO2806 PPO Rotterdam: Neem contact op met de PPO helpdesk, 010 123 45 67, "
                  "helpdesk@ppo.example.",
                  "PO2807 PPO Delft: Vraag hulp aan de intern begeleider of de PPO medewerker "
                  "van PPO Delft."):
        assert words in text, words


def test_signed_in_the_lost_phone_page_names_only_the_own_organisation(signed_in, make_org):
    make_org(code="PO2807", name="PPO Delft")
    text = pages.text(signed_in.browser.get("/telefoon-kwijt").get_data(as_text=True))
    assert "PO2806 PPO Rotterdam" in text and "PPO Delft" not in text


def test_the_account_page_links_to_both_ways(signed_in):
    html = signed_in.browser.get("/account").get_data(as_text=True)
    assert f'href="{PATH}"' in html and 'href="/telefoon-kwijt"' in html


# --- the same phone ---------------------------------------------------------------------------
def same_device_parts(html: str) -> dict:
    button = re.search(r'<a class="button secondary" href="([^"]+)">Open in de authenticator-app</a>', html)
    copy = re.search(r'<button type="button"[^>]*id="copy-key"[^>]*>', html)
    return {"otpauth": html_lib.unescape(button.group(1)) if button else None,
            "copy_hidden_without_js": bool(copy) and " hidden" in copy.group(0),
            "script": "/static/enrol.js" in html}


@pytest.mark.parametrize("where", ["activation", "new phone"])
def test_the_same_phone_can_open_the_app_or_copy_the_key(app, client, mailbox, make_org,
                                                         invite, frozen_clock, where):
    from tests.actors import Parent

    make_org()
    invite()
    parent = Parent(client, mailbox)
    if where == "activation":
        html = parent.open_activation().get_data(as_text=True)
    else:
        parent.activate()
        parent.sign_in()
        clock.advance(30)
        html = start_move(parent)
    parts = same_device_parts(html)
    assert parts["otpauth"] == decode_qr(html)  # the link and the QR code hold the same
    assert parts["otpauth"].startswith("otpauth://totp/")
    assert parts["copy_hidden_without_js"] and parts["script"]
    text = pages.text(html)
    assert "Gebruikt u de app op deze telefoon? Druk dan op de knop hieronder." in text
    assert "Staat de app op een andere telefoon? Scan dan de QR-code." in text
    assert text.index("Open in de authenticator-app") < text.index("Scan de streepjescode")


def test_the_copy_script_is_served(client):
    with client.get("/static/enrol.js") as script:
        assert script.status_code == 200 and b"clipboard" in script.data


def test_signing_in_still_works_after_all_this(signed_in):
    assert is_signed_in(signed_in.browser)
