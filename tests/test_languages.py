"""The parent's pages in Dutch (always the default) or English: chosen by the relying party's
``ui_locales`` (OIDC Core 3.1.2.1) or by the parent with the switch on every page, kept per
browser, never taken from the browser's Accept-Language."""

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from idp.i18n import first_supported
from tests import pages
from tests.actors import Parent, RelyingParty
from tests.test_oidc_flow import assert_sign_in_page as assert_sign_in_page_answer

WRONG_EN = ("This combination of username, password and code is not right. Check capital letters "
            "and small letters, and use the code that the app shows now.")
# The sign-in page as the handbook names it, and its English counterpart.
SIGN_IN_PAGE = {
    "nl": ["Inloggen", "Organisatie", "Gebruikersnaam", "Wachtwoord", "Code", "Kies uw organisatie",
           "Let op: hoofdletters en kleine letters zijn verschillend."],
    "en": ["Sign in", "Organisation", "Username", "Password", "Code", "Choose your organisation",
           "Note: capital letters and small letters are different."],
}


def page_language(html: str) -> str:
    return re.search(r'<html lang="([^"]+)">', html).group(1)


def labels(html: str) -> list[str]:
    return re.findall(r'<label for="[^"]+">([^<]+)</label>', html)


def assert_sign_in_page(html: str, language: str):
    assert page_language(html) == language
    assert re.search(r"<h1>([^<]+)</h1>", html).group(1) == SIGN_IN_PAGE[language][0]
    assert labels(html) == SIGN_IN_PAGE[language][1:5]
    text = pages.text(html)
    for words in SIGN_IN_PAGE[language][5:]:
        assert words in text, words


def switch_href(html: str, name: str) -> str:
    """The link of the language switch, as the parent would click it."""
    nav = re.search(r'<nav class="languages"[^>]*>(.*?)</nav>', html, flags=re.S).group(1)
    return re.search(rf'<a href="([^"]+)"[^>]*>{name}</a>', nav).group(1).replace("&amp;", "&")


def open_sign_in(browser, rp, **params):
    """The relying party sends the browser to sign in; ``/authorize`` shows the sign-in page.
    Returns the address its form posts to (the flow), where the same page is."""
    return open_sign_in_page(browser, rp, **params)[0]


def open_sign_in_page(browser, rp, **params) -> tuple[str, str]:
    """The flow's address and the page ``/authorize`` answered."""
    start = assert_sign_in_page_answer(browser.get(rp.authorization_url(**params)))
    html = start.get_data(as_text=True)
    return pages.forms(html)[0]["action"], html


@pytest.fixture
def rp(client, make_org, make_client):
    """A relying party and an organisation, for tests that only look at the sign-in page."""
    make_org()
    registered = make_client()
    return RelyingParty(client, registered["client_id"], registered["client_secret"],
                        registered["redirect_uri"])


# --- ui_locales --------------------------------------------------------------------------------
def test_discovery_lists_the_languages(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert config["ui_locales_supported"] == ["nl", "en"]


UI_LOCALES = {
    "en": ("en", "en"),
    "fr-then-en-GB": ("fr en-GB", "en"),
    "fr": ("fr", "nl"),
    "garbage": ("<script>alert(1)</script> 12 -", "nl"),
    "absent": (None, "nl"),
}


@pytest.mark.parametrize("ui_locales, language", UI_LOCALES.values(), ids=UI_LOCALES.keys())
def test_ui_locales_chooses_the_sign_in_language(client, rp, ui_locales, language):
    login_url, first = open_sign_in_page(client, rp, ui_locales=ui_locales)
    assert_sign_in_page(first, language)  # the page /authorize answered
    page = client.get(login_url)  # and the flow's page, after a reload or a mistake
    assert page.status_code == 200
    assert_sign_in_page(page.get_data(as_text=True), language)


FIRST_SUPPORTED = {
    "nl": ("nl", "nl"),
    "region-is-ignored": ("nl-BE", "nl"),
    "case-is-ignored": ("EN-gb", "en"),
    "script-subtag": ("en-Latn-GB", "en"),
    "first-supported-wins": ("de fr-CA en nl", "en"),
    "extra-spaces": ("  fr   nl  ", "nl"),
    "underscore-is-not-bcp47": ("en_GB", None),
    "wildcard": ("*", None),
    "unsupported-only": ("de fr", None),
    "empty": ("", None),
    "one-letter": ("e", None),
    "subtag-too-long": ("en-abcdefghi", None),
    "too-long-to-be-a-preference-list": ("de " * 70 + "en", None),
}


@pytest.mark.parametrize("value, language", FIRST_SUPPORTED.values(), ids=FIRST_SUPPORTED.keys())
def test_first_supported_language_of_ui_locales(value, language):
    assert first_supported(value) == language


def test_english_holds_through_a_wrong_password_and_the_pages_after(world):
    parent, rp = world
    login_url = open_sign_in(parent.browser, rp, ui_locales="en")

    refused = parent.sign_in(login_url, password="fietsen langs de rijn 2026")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert page_language(html) == "en"
    assert pages.messages(html) == [WRONG_EN]

    signed_in = parent.sign_in(login_url)
    assert "code" in rp.callback_params(signed_in)  # the relying party got its answer as usual

    home = parent.browser.get("/").get_data(as_text=True)
    assert page_language(home) == "en"
    assert "You are signed in as Yvonne.testouder at PO2806 PPO Rotterdam" in pages.text(home)
    assert 'title="Sign out"' in home
    ask = parent.browser.get("/uitloggen").get_data(as_text=True)
    assert "Do you want to sign out?" in pages.text(ask)
    done = parent.browser.post("/uitloggen", data=pages.form_fields(ask))
    assert pages.messages(done.get_data(as_text=True), "ok") == [
        "You are signed out. You can close this window."]
    # The language is the browser's, not the sign-in's: it outlasts the logout.
    assert_sign_in_page(parent.browser.get("/inloggen").get_data(as_text=True), "en")


def test_a_new_request_with_ui_locales_sets_the_language_again(client, rp):
    client.get(open_sign_in(client, rp, ui_locales="en"))
    page = client.get(open_sign_in(client, rp, ui_locales="nl"))
    assert_sign_in_page(page.get_data(as_text=True), "nl")
    client.get(open_sign_in(client, rp, ui_locales="en"))
    # Without (supported) ui_locales the browser keeps what it had.
    page = client.get(open_sign_in(client, rp, ui_locales="fr"))
    assert_sign_in_page(page.get_data(as_text=True), "en")


def test_the_language_is_per_browser(app, client, rp):
    login_url = open_sign_in(client, rp, ui_locales="en")
    assert page_language(client.get(login_url).get_data(as_text=True)) == "en"

    other = app.test_client()
    assert_sign_in_page(other.get(login_url).get_data(as_text=True), "nl")
    assert_sign_in_page(other.get("/inloggen").get_data(as_text=True), "nl")


def test_accept_language_is_not_followed(client, make_org):
    make_org()
    page = client.get("/inloggen", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert_sign_in_page(page.get_data(as_text=True), "nl")


# --- the language switch -----------------------------------------------------------------------
@pytest.mark.parametrize("shown_at", ["authorize", "flow"])
def test_switch_changes_the_sign_in_page_and_keeps_the_flow(world, shown_at):
    """From the page /authorize answered, or the same page at the flow's address (after a
    mistake): the switch goes to the flow's page in the other language, never back through
    /authorize (a new flow, whose ui_locales would choose the language again)."""
    parent, rp = world
    login_url, html = open_sign_in_page(parent.browser, rp, ui_locales="nl")
    here = rp.authorization_url() if shown_at == "authorize" else login_url
    if shown_at == "flow":
        html = parent.browser.get(login_url).get_data(as_text=True)
    assert_sign_in_page(html, "nl")
    flow = parse_qs(urlsplit(login_url).query)["flow"]

    english = switch_href(html, "English")
    assert parse_qs(urlsplit(urljoin(here, english)).query) == {"flow": flow, "lang": ["en"]}
    switched = parent.browser.get(urljoin(here, english))
    assert switched.status_code == 302
    assert switched.headers["Location"] == f"http://idp.test{login_url}"  # same page, flow kept
    page = parent.browser.get(switched.headers["Location"]).get_data(as_text=True)
    assert_sign_in_page(page, "en")
    assert '<span aria-current="true" lang="en">English</span>' in page

    # The flow still leads back to the relying party.
    signed_in = parent.sign_in(login_url)
    assert "code" in rp.callback_params(signed_in)

    dutch = switch_href(parent.browser.get("/").get_data(as_text=True), "Nederlands")
    assert dutch == "?lang=nl"
    home = parent.browser.get("/?lang=nl", follow_redirects=True).get_data(as_text=True)
    assert page_language(home) == "nl" and "U bent ingelogd" in pages.text(home)


def test_activation_in_english(app, client, mailbox, make_org, invite, frozen_clock):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    client.get("/inloggen?lang=en")
    page = parent.open_activation()
    html = page.get_data(as_text=True)
    assert page_language(html) == "en"
    text = pages.text(html)
    for words in ("Activate your account", "Organisation: PO2806 PPO Rotterdam",
                  "New password", "Repeat password", "At least 10 characters.",
                  "Install Google Authenticator on your smartphone", "Scan the QR code:",
                  "Or type in this key:", "Save"):
        assert words in text, words

    short = parent.submit_activation(html, password="kort2026")
    assert pages.field_errors(short.get_data(as_text=True)) == {
        "password": ["Choose a password of at least 10 characters."]}
    differ = parent.submit_activation(html, again="fietsen langs de rijn 2026")
    assert pages.field_errors(differ.get_data(as_text=True)) == {
        "password_again": ["The two passwords are not the same. Please try again."]}

    done = parent.submit_activation(html)
    assert done.status_code == 302
    signin_page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert pages.messages(signin_page, "ok") == ["Your account is activated. You can sign in now."]
    used = parent.open_activation()
    assert used.status_code == 410
    assert pages.messages(used.get_data(as_text=True))[0].startswith(
        "This activation link has already been used.")


def test_error_pages_follow_the_choice(client):
    client.get("/?lang=en")
    missing = client.get("/bestaat-niet")
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert page_language(html) == "en"
    assert pages.messages(html) == ["This page does not exist."]
    assert "ask the PPO helpdesk" in pages.text(html)


SWITCH_VALUES = {
    "unknown-language": "de",
    "malformed": "<b>en</b>",
    "long": "en" * 500,
    "empty": "",
}


@pytest.mark.parametrize("value", SWITCH_VALUES.values(), ids=SWITCH_VALUES.keys())
def test_an_unknown_switch_value_changes_nothing(client, make_org, value):
    make_org()
    response = client.get("/inloggen", query_string={"lang": value})
    assert response.status_code == 302
    assert response.headers["Location"] == "http://idp.test/inloggen"
    assert_sign_in_page(client.get("/inloggen").get_data(as_text=True), "nl")


@pytest.mark.parametrize("path", ["//evil.test/", "/\\evil.test/"], ids=["double-slash", "backslash"])
def test_switch_never_redirects_to_another_site(client, path):
    response = client.get("/", environ_overrides={"PATH_INFO": path}, query_string={"lang": "en"})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc == "idp.test"


def test_programs_get_no_switch(client):
    response = client.get("/.well-known/openid-configuration?lang=en")
    assert response.status_code == 200 and response.is_json

