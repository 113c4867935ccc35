"""WCAG 2.2 AA on every parent page, in Dutch and English: axe-core finds no violation at phone
and desktop width. A violation fails the test with the rule and the element."""

import pytest

from idp import clock
from idp.browser import chrome, pages


def sign_in(parent, invited):
    parent.open("/inloggen")


def sign_in_with_errors(parent, invited):
    parent.open("/inloggen")
    parent.choose_organisation("PO2806")
    parent.press()


def sign_in_wrong_password(parent, invited):
    parent.activate(invited, language=parent.language())
    parent.open("/inloggen")
    parent.fill_sign_in(password="niet mijn wachtwoord")
    parent.press()


def sign_in_took_too_long(parent, invited):
    parent.open("/inloggen?flow=verlopen")


def activation(parent, invited):
    parent.open(invited)


def activation_with_errors(parent, invited):
    parent.open(invited)
    parent.type("password", "kort")
    parent.type("password_again", "anders")
    parent.press()


def activation_link_unknown(parent, invited):
    parent.open("/activeren/bestaat-niet")


def activation_link_used(parent, invited):
    parent.activate(invited, language=parent.language())
    parent.open(invited)


def activation_link_expired(parent, invited):
    clock.advance(8 * 24 * 3600)
    parent.open(invited)


def signed_in(parent, invited):
    parent.activate(invited, language=parent.language())
    parent.sign_in(language=parent.language())


def logout(parent, invited):
    signed_in(parent, invited)
    parent.open("/uitloggen")


def logged_out(parent, invited):
    signed_in(parent, invited)
    parent.log_out(language=parent.language())


def logout_when_not_signed_in(parent, invited):
    parent.open("/uitloggen")


def page_not_found(parent, invited):
    parent.open("/bestaat-niet")


PAGES = [sign_in, sign_in_with_errors, sign_in_wrong_password, sign_in_took_too_long, activation,
         activation_with_errors, activation_link_unknown, activation_link_used,
         activation_link_expired, signed_in, logout, logged_out, logout_when_not_signed_in,
         page_not_found]


@pytest.mark.parametrize("language", pages.LANGUAGES)
@pytest.mark.parametrize("visit", PAGES, ids=lambda visit: visit.__name__.replace("_", "-"))
def test_no_wcag_violations(visit, language, parent, invited, check_accessible):
    parent.open(f"/inloggen?lang={language}")  # the language switch, kept for the visit
    visit(parent, invited)
    assert parent.language() == language
    name = f"{visit.__name__}-{language}"
    check_accessible(parent.driver, name)
    chrome.set_viewport(parent.driver, *chrome.DESKTOP)
    check_accessible(parent.driver, name)
