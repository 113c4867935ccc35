"""Activation, sign-in and logout in a real browser, with JavaScript on and off."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from selenium.webdriver.common.by import By

from idp import clock
from idp.browser import pages
from idp.browser.parent import Parent, authenticator_code
from tests.browser.conftest import HOST


def test_activation_then_sign_in_then_logout(parent, invited, check_accessible):
    parent.activate(invited)
    parent.sign_in(path=None)  # the activation ends on the sign-in page
    assert parent.heading() == pages.SIGNED_IN.heading["nl"], parent.text()
    assert parent.username in parent.text()
    parent.log_out()
    parent.open("/")
    assert parent.heading() == pages.SIGN_IN.heading["nl"]


def test_the_code_field_follows_the_organisation(parent, activated):
    parent.open("/inloggen")
    assert not parent.code_field_shown()
    parent.choose_organisation("PO2806")
    assert parent.code_field_shown()
    parent.choose_organisation("PO1000")
    assert not parent.code_field_shown()
    parent.choose_organisation("PO2806")
    assert parent.code_field_shown()


def test_idle_logout_after_ten_minutes(activated):
    activated.sign_in()
    assert activated.heading() == pages.SIGNED_IN.heading["nl"]
    clock.advance(10 * 60 + 1)
    activated.open("/")
    assert activated.heading() == pages.SIGN_IN.heading["nl"]


def test_sign_in_without_javascript(open_browser, invited):
    """Without JavaScript the Code field does not appear on choosing the organisation; the
    first press shows it, with a message, and signing in works."""
    parent = Parent(open_browser(javascript=False), f"http://{HOST}")
    parent.activate(invited)
    parent.open("/inloggen")
    parent.fill_sign_in()
    assert not parent.code_field_shown()  # no script ran
    parent.press(pages.SIGN_IN.button["nl"])
    assert parent.code_field_shown()
    parent.fill_sign_in()
    parent.press(pages.SIGN_IN.button["nl"])
    assert parent.heading() == pages.SIGNED_IN.heading["nl"], parent.text()


def test_fields_help_phones_and_password_managers(activated):
    """Autocomplete for password managers and the code from a text message, digits on a phone's
    keyboard, and a code with a space in it (as pasted) is taken whole."""
    activated.open("/inloggen")
    activated.choose_organisation("PO2806")
    expected = {"username": "username", "password": "current-password", "code": "one-time-code"}
    for field_id, autocomplete in expected.items():
        assert activated.field(field_id).get_attribute("autocomplete") == autocomplete
    code = activated.field("code")
    assert code.get_attribute("inputmode") == "numeric"
    assert code.get_attribute("maxlength") is None
    digits = authenticator_code(activated.key)
    activated.fill_sign_in(code=f" {digits[:3]} {digits[3:]} ")
    assert code.get_attribute("value") == f" {digits[:3]} {digits[3:]} "
    activated.press()
    assert activated.heading() == pages.SIGNED_IN.heading["nl"], activated.text()


def relying_party(server) -> str:
    """A redirect URI the browser can open: this server by its loopback address (a 404 page,
    but its address carries the answer)."""
    return f"http://{server.address}/terug-naar-het-dossier"


def authorization_url(client: dict, **extra) -> str:
    return f"http://{HOST}/authorize?" + urlencode({
        "response_type": "code", "client_id": client["client_id"], "scope": "openid",
        "redirect_uri": client["redirect_uri"], "state": "st-1", "nonce": "n-1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", **extra})


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_relying_partys_request_shows_the_page_and_comes_straight_back(
        open_browser, server, invited, make_client, javascript):
    """The relying party's link opens the sign-in page itself; once signed in, the browser is at
    the relying party's address with a code, no page of ours in between."""
    client = make_client(redirect_uris=(relying_party(server),))
    parent = Parent(open_browser(javascript=javascript), f"http://{HOST}")
    parent.activate(invited)
    parent.open(authorization_url(client))
    assert parent.heading() == pages.SIGN_IN.heading["nl"], parent.text()
    parent.fill_sign_in()
    parent.press(pages.SIGN_IN.button["nl"])
    if not javascript:  # the Code field appears after the first press (on the flow's page)
        assert parent.code_field_shown()
        parent.fill_sign_in()
        parent.press(pages.SIGN_IN.button["nl"])
    back = urlsplit(parent.driver.current_url)
    assert back.path == "/terug-naar-het-dossier", parent.driver.current_url
    answer = parse_qs(back.query)
    assert answer["state"] == ["st-1"] and answer["code"]


def test_the_language_switch_on_a_relying_partys_page_keeps_its_request(
        open_browser, server, invited, make_client):
    client = make_client(redirect_uris=(relying_party(server),))
    parent = Parent(open_browser(), f"http://{HOST}")
    parent.activate(invited)
    parent.open(authorization_url(client, ui_locales="nl"))
    switch = parent.driver.find_element(By.CSS_SELECTOR, 'nav.languages a[hreflang="en"]')
    parent.wait_for_next_page(switch.click)
    assert parent.language() == "en" and parent.heading() == pages.SIGN_IN.heading["en"]
    parent.lang = "en"
    parent.fill_sign_in()
    parent.press(pages.SIGN_IN.button["en"])
    assert parse_qs(urlsplit(parent.driver.current_url).query)["state"] == ["st-1"]
