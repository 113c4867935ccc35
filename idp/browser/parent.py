"""A parent in a real browser, with Google Authenticator: activates the account from the
e-mail's link, signs in and logs out, as the handbook tells it. The browser tests and the
handbook both walk the parent's path through this class; ``camera`` (optional) is called with a
name at each step the handbook shows."""

import pyotp
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from idp import clock
from idp.browser import pages

PASSWORD = "fietsen langs de maas 2026"


def authenticator_code(key: str) -> str:
    """What the app shows now for the key as the page shows it (in groups of four)."""
    return pyotp.TOTP(key.replace(" ", "").upper()).at(clock.now())


class Parent:
    def __init__(self, driver, base_url: str, username="Yvonne.testouder", org="PO2806",
                 camera=None):
        self.driver, self.base_url = driver, base_url.rstrip("/")
        self.username, self.org = username, org
        self.key: str | None = None
        self.lang = "nl"  # the page language the parent chose (the switch on every page)
        self.camera = camera or (lambda name: None)

    # --- looking ------------------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.driver.get(path if "://" in path else self.base_url + path)

    def heading(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "h1").text

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "main").text

    def language(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "html").get_attribute("lang")

    def field(self, field_id: str):
        return self.driver.find_element(By.ID, field_id)

    def code_field_shown(self) -> bool:
        return self.driver.find_element(By.ID, pages.CODE_FIELD).is_displayed()

    def choose_language(self, lang: str) -> None:
        """The language switch (``?lang=``), kept by the browser session for what follows."""
        self.open(f"/inloggen?lang={lang}")
        self.lang = lang

    # --- doing --------------------------------------------------------------------------------
    def type(self, field_id: str, value: str) -> None:
        element = self.field(field_id)
        element.clear()
        element.send_keys(value)

    def choose_organisation(self, code: str) -> None:
        Select(self.field("organisation")).select_by_value(code)

    def press(self, button_text: str | None = None) -> None:
        """Press the form's button (by its words, if given) and wait for the next page."""
        buttons = self.driver.find_elements(By.CSS_SELECTOR, "main form button[type=submit]")
        if button_text:
            buttons = [b for b in buttons if b.text.strip() == button_text]
        assert buttons, f"no button {button_text!r} on {self.driver.current_url}"
        self.wait_for_next_page(buttons[0].click)

    def wait_for_next_page(self, action) -> None:
        old = self.driver.find_element(By.TAG_NAME, "html")
        action()
        WebDriverWait(self.driver, 10).until(_gone(old))

    # --- the handbook's steps -----------------------------------------------------------------
    def read_key(self) -> str:
        """The key in groups of four, as the parent would type it into the app."""
        self.key = self.field(pages.TOTP_KEY).text.strip()
        return self.key

    def fill_activation(self, password=PASSWORD) -> None:
        self.type("password", password)
        self.type("password_again", password)
        if self.driver.find_elements(By.ID, pages.TOTP_KEY):
            self.read_key()
            self.type("code", authenticator_code(self.key))

    def activate(self, link: str, password=PASSWORD) -> None:
        """The link from the e-mail, a new password twice, the app linked with its code."""
        language = self.lang
        self.open(link)
        assert self.heading() == pages.ACTIVATION.heading[language], self.text()
        self.camera("activation")
        self.fill_activation(password)
        self.camera("activation-filled")
        self.press(pages.ACTIVATION.button[language])
        assert pages.ACTIVATED[language] in self.text(), self.text()
        self.camera("activated")
        clock.advance(30)  # each code is accepted once: the next sign-in waits for a new one

    def fill_sign_in(self, password=PASSWORD, code=None, org=None, username=None) -> None:
        """Top to bottom, as the handbook says: organisation first, then the Code appears."""
        self.choose_organisation(org or self.org)
        self.type("username", username or self.username)
        self.type("password", password)
        if self.code_field_shown():
            self.type("code", authenticator_code(self.key) if code is None else code)

    def sign_in(self, password=PASSWORD, code=None, path="/inloggen") -> None:
        language = self.lang
        if path is not None:
            self.open(path)
        assert self.heading() == pages.SIGN_IN.heading[language], self.text()
        self.camera("sign-in")
        self.fill_sign_in(password, code)
        self.camera("sign-in-filled")
        self.press(pages.SIGN_IN.button[language])

    def log_out(self) -> None:
        """The person icon top right, then "Uitloggen"."""
        language = self.lang
        icon = self.driver.find_element(By.CSS_SELECTOR, pages.PERSON_ICON)
        self.wait_for_next_page(icon.click)
        assert self.heading() == pages.LOGOUT.heading[language], self.text()
        self.camera("logout")
        self.press(pages.LOGOUT.button[language])
        assert self.heading() == pages.LOGGED_OUT.heading[language], self.text()
        self.camera("logged-out")


def _gone(old):
    """Like Selenium's ``staleness_of``, but Chromium sometimes answers for an element of the
    page before with "Node with given id does not belong to the document" instead of a stale
    element: that means gone too."""
    def check(_driver) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return check
