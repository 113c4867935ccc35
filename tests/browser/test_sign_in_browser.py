"""Activation, sign-in and logout in a real browser, with JavaScript on and off."""

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
