"""A staff member in a real browser: activates from the welcome e-mail like a parent (always
linking the app), signs in with password and code (staff always give one) and works in the
console (/beheer). The console's words come from ``idp.browser.pages``."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from idp.browser import pages
from idp.browser.parent import PASSWORD, Parent, authenticator_code


class Staff(Parent):
    def sign_in(self, password=PASSWORD, code=None, path="/inloggen") -> None:
        """The normal sign-in page; in an organisation without codes the second page asks
        for the code. Then the console's start page."""
        super().sign_in(password, code, path)
        if self.driver.find_elements(By.ID, "code"):
            self.type("code", authenticator_code(self.key))
            self.press()
        self.open(pages.CONSOLE.path)
        assert self.heading() == pages.CONSOLE.heading[self.lang], self.text()

    def search(self, query: str = "", status: str = "") -> None:
        """The parents list, searched and filtered."""
        self.open(pages.CONSOLE_PARENTS.path)
        self.type("q", query)
        Select(self.field("status")).select_by_value(status)
        self.press(pages.CONSOLE_PARENTS.button[self.lang])

    def open_parent(self, username: str) -> None:
        link = self.driver.find_element(By.LINK_TEXT, username)
        self.wait_for_next_page(link.click)

    def act(self, button_text: str, reason: str = "Ticket 4711") -> None:
        """An action's form on the parent's page: the reason, the box ticked, the button."""
        button = self.driver.find_element(
            By.XPATH, f"//main//form[.//button[normalize-space()='{button_text}']]")
        reason_field = button.find_elements(By.NAME, pages.REASON_FIELD)
        if reason_field:
            reason_field[0].send_keys(reason)
        box = button.find_elements(By.NAME, pages.CONFIRM_BOX)
        if box and not box[0].is_selected():
            box[0].click()
        submit = button.find_element(By.XPATH, f".//button[normalize-space()='{button_text}']")
        self.wait_for_next_page(submit.click)

    def confirm_with_code(self) -> None:
        """The step-up page: a fresh code, back on the page that asked."""
        assert self.heading() == pages.CONSOLE_STEP_UP.heading[self.lang], self.text()
        self.type("code", authenticator_code(self.key))
        self.press(pages.CONSOLE_STEP_UP.button[self.lang])
