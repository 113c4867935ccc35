"""A parent who uses only the keyboard, with the focus visible at every step (WCAG 2.1.1,
2.4.7), and mistakes summed up at the top, each leading to its field (WCAG 3.3.1)."""

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from idp import clock
from idp.browser import pages
from idp.browser.parent import PASSWORD, authenticator_code

FOCUS_STYLE = """
const style = getComputedStyle(document.activeElement);
return {tag: document.activeElement.tagName, id: document.activeElement.id,
        outline: style.outlineStyle !== "none" ? parseFloat(style.outlineWidth) : 0,
        shadow: style.boxShadow};
"""


def focused(driver) -> dict:
    return driver.execute_script(FOCUS_STYLE)


def tab_to(driver, target, limit=30) -> None:
    """Tab until the element (its id, or the element) has focus, checking that every stop
    shows where the focus is."""
    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        now = focused(driver)
        assert now["outline"] >= 2 or now["shadow"] != "none", f"no visible focus on {now}"
        if now["id"] == target if isinstance(target, str) else \
                driver.switch_to.active_element == target:
            return
    pytest.fail(f"{target} cannot be reached with Tab")


def type_keys(driver, text: str) -> None:
    ActionChains(driver).send_keys(text).perform()


def enter_and_wait(parent) -> None:
    parent.wait_for_next_page(lambda: ActionChains(parent.driver).send_keys(Keys.ENTER).perform())


def test_activation_and_sign_in_with_the_keyboard_only(parent, invited):
    driver = parent.driver
    parent.open(invited)
    key = parent.read_key()
    tab_to(driver, "password")
    type_keys(driver, PASSWORD)
    tab_to(driver, "password_again")
    type_keys(driver, PASSWORD)
    tab_to(driver, "code")
    type_keys(driver, authenticator_code(key))
    enter_and_wait(parent)
    assert pages.ACTIVATED["nl"] in parent.text()
    parent.key = key
    clock.advance(30)
    tab_to(driver, "organisation")
    type_keys(driver, "PO2806")  # a select follows the typed letters, as people do
    assert parent.field("organisation").get_attribute("value") == "PO2806"
    assert parent.code_field_shown()
    tab_to(driver, "username")
    type_keys(driver, parent.username)
    tab_to(driver, "password")
    type_keys(driver, PASSWORD)
    tab_to(driver, "code")
    type_keys(driver, authenticator_code(key))
    enter_and_wait(parent)
    assert parent.heading() == pages.SIGNED_IN.heading["nl"], parent.text()


def test_mistakes_are_summed_up_at_the_top_and_lead_to_the_field(parent, invited):
    parent.open("/inloggen")
    parent.choose_organisation("PO2806")
    parent.press()
    driver = parent.driver
    assert focused(driver)["tag"] == "DIV"  # the summary, first thing read
    summary = driver.find_element("css selector", pages.ERROR_SUMMARY)
    links = summary.find_elements("css selector", "a")
    assert [link.get_attribute("hash") for link in links] == ["#username", "#password", "#code"]
    links[0].click()
    assert focused(driver)["id"] == "username"
    username = parent.field("username")
    assert username.get_attribute("aria-invalid") == "true"
    assert "username-error" in username.get_attribute("aria-describedby").split()
