"""WCAG 2.2 AA on every parent page, in Dutch and English: axe-core finds no violation, at a
phone's width, 320 px wide, at 200 % zoom and on a desktop; a violation fails the test with the
rule and the element. At every width the page fits without scrolling sideways (WCAG 1.4.10)."""

from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import links
from idp.browser import chrome, pages
from idp.browser.parent import PASSWORD, authenticator_code
from idp.clients import register
from idp.extensions import db
from idp.models import Account


def sign_in(parent, site):
    parent.open("/inloggen")


def sign_in_from_a_relying_party(parent, site):
    """The page ``/authorize`` answers with (its form posts to the flow)."""
    with site.app.app_context():
        client, _secret = register("Dossier", ["https://dossier.test/callback"], [])
        client_id = client.client_id
    parent.open("/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "scope": "openid",
        "redirect_uri": "https://dossier.test/callback", "state": "s", "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"}))
    assert parent.heading() == pages.SIGN_IN.heading[parent.lang], parent.text()


def sign_in_with_errors(parent, site):
    parent.open("/inloggen")
    parent.choose_organisation("PO2806")
    parent.press()


def sign_in_wrong_password(parent, site):
    parent.activate(site.link)
    parent.open("/inloggen")
    parent.fill_sign_in(password="niet mijn wachtwoord")
    parent.press()


def sign_in_took_too_long(parent, site):
    parent.open("/inloggen?flow=verlopen")


def activation(parent, site):
    parent.open(site.link)


def activation_with_errors(parent, site):
    parent.open(site.link)
    parent.type("password", "kort")
    parent.type("password_again", "anders")
    parent.press()


def activation_link_unknown(parent, site):
    parent.open("/activeren/bestaat-niet")


def activation_link_used(parent, site):
    parent.activate(site.link)
    parent.open(site.link)


def activation_link_expired(parent, site):
    clock.advance(8 * 24 * 3600)
    parent.choose_language(parent.lang)  # the browser session that kept it has ended too
    parent.open(site.link)


def signed_in(parent, site):
    parent.activate(site.link)
    parent.sign_in()


def logout(parent, site):
    signed_in(parent, site)
    parent.open("/uitloggen")


def logged_out(parent, site):
    signed_in(parent, site)
    parent.log_out()


def logout_when_not_signed_in(parent, site):
    parent.open("/uitloggen")


def page_not_found(parent, site):
    parent.open("/bestaat-niet")


def mailed_link(site, purpose):
    """A link the parent asked for (idp.accounts.links), from the e-mail it sends."""
    with site.app.app_context():
        links.issue(db.session.scalar(select(Account)), purpose, links.SELF)
    return site.mailbox.link()


def password_reset(parent, site):
    parent.activate(site.link)
    parent.open(mailed_link(site, links.PASSWORD_RESET))


def password_reset_with_errors(parent, site):
    password_reset(parent, site)
    parent.press()


def new_app_password(parent, site):
    parent.activate(site.link)
    parent.open(mailed_link(site, links.NEW_AUTHENTICATOR))


def new_app_scan(parent, site):
    new_app_password(parent, site)
    parent.type("password", PASSWORD)
    parent.press()


def new_app_wrong_code(parent, site):
    new_app_scan(parent, site)
    parent.type("code", "000000")
    parent.press()


def link_unknown(parent, site):
    parent.open("/herstellen/bestaat-niet")


def forgotten_password(parent, site):
    parent.open("/wachtwoord-vergeten")


def forgotten_password_with_errors(parent, site):
    forgotten_password(parent, site)
    parent.press()


def forgotten_password_sent(parent, site):
    forgotten_password(parent, site)
    parent.choose_organisation("PO2806")
    parent.type("identifier", parent.username)
    parent.press()


def lost_phone(parent, site):
    parent.open("/telefoon-kwijt")


def new_activation_link_sent(parent, site):
    activation_link_expired(parent, site)
    parent.press()


def change_password(parent, site):
    signed_in(parent, site)
    parent.open("/account/wachtwoord")


def change_password_with_errors(parent, site):
    change_password(parent, site)
    parent.press()


def move_app_old_phone(parent, site):
    signed_in(parent, site)
    parent.open("/account/app-verplaatsen")


def move_app_new_phone(parent, site):
    move_app_old_phone(parent, site)
    clock.advance(30)
    parent.type("code", authenticator_code(parent.key))
    parent.press()


PAGES = [sign_in, sign_in_from_a_relying_party, sign_in_with_errors, sign_in_wrong_password, sign_in_took_too_long, activation,
         activation_with_errors, activation_link_unknown, activation_link_used,
         activation_link_expired, signed_in, logout, logged_out, logout_when_not_signed_in,
         page_not_found, password_reset, password_reset_with_errors, new_app_password,
         new_app_scan, new_app_wrong_code, link_unknown, forgotten_password,
         forgotten_password_with_errors, forgotten_password_sent, lost_phone,
         new_activation_link_sent, change_password, change_password_with_errors,
         move_app_old_phone, move_app_new_phone]


#: A phone, WCAG 1.4.10's 320 CSS pixels, a 1280 px screen at 200 % zoom, and a desktop.
WIDTHS = (chrome.PHONE, chrome.NARROW_PHONE, (640, 450), chrome.DESKTOP)
#: axe-core's rules hardly depend on the width: a phone and a desktop are enough.
AXE_WIDTHS = (chrome.PHONE, chrome.DESKTOP)


@pytest.mark.parametrize("language", pages.LANGUAGES)
@pytest.mark.parametrize("visit", PAGES, ids=lambda visit: visit.__name__.replace("_", "-"))
def test_every_page_is_accessible(visit, language, parent, site, check_accessible):
    parent.choose_language(language)
    visit(parent, site)
    assert parent.language() == language
    name = f"{visit.__name__}-{language}"
    for width, height in WIDTHS:
        chrome.set_viewport(parent.driver, width, height)
        scroll_width, client_width = parent.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll_width <= client_width, f"{name} scrolls sideways at {width} px"
        check_accessible(parent.driver, name, axe_too=(width, height) in AXE_WIDTHS)
