"""The staff console (/beheer) in a real browser: axe-core finds no WCAG 2.2 AA violation on its
pages, in Dutch and English, at a phone's and a desktop's width; forms fit 320 px without
scrolling sideways (wide tables scroll inside their own labelled, focusable box); and a helpdesk
member unlocks a parent with the keyboard only, the focus visible at every stop."""

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select

from idp import clock
from idp.accounts.actions import Actor, invite as invite_account
from idp.browser import chrome, pages
from idp.browser.staff import Staff
from idp.extensions import db
from idp.models import Account, Organisation
from tests.actors import Parent as HttpParent
from tests.browser.conftest import HOST, mailed_link
from tests.browser.test_keyboard import enter_and_wait, tab_to, type_keys


#: The outermost elements that reach past the screen's right edge, to name in a failure.
WIDE = """return [...document.querySelectorAll("main *")].filter(e =>
  e.getBoundingClientRect().right > document.documentElement.clientWidth
  && e.parentElement.getBoundingClientRect().right <= document.documentElement.clientWidth)
  .map(e => e.outerHTML.slice(0, 120)).join(" | ")"""
CSV = "email;name;username\nbram@voorbeeld.nl;Bram de Vries;\nniet-goed;Sara Jansen;\n"


@pytest.fixture
def console(app, orgs, invite, mailbox, frozen_clock, driver):
    """``console(role)``: a staff member of PO2806 with ``role`` in the browser, signed in on
    /beheer, next to Yvonne (active, signed in elsewhere, locked) and Bram (invited) of PO2806."""

    def start(role="helpdesk", lang="nl"):
        invite()
        yvonne = HttpParent(app.test_client(), mailbox)  # a session for her page to show
        yvonne.activate()
        assert yvonne.sign_in().status_code == 302
        invite(username="Bram.devries", email="bram@example.org", name="Bram de Vries")
        with app.app_context():
            db.session.scalar(select(Account).filter_by(username="Yvonne.testouder")).locked_at = \
                clock.timestamp()
            organisation = db.session.scalar(select(Organisation).filter_by(code="PO2806"))
            db.session.commit()
            invite_account(organisation, f"{role}@po2806.test", f"{role.capitalize()}.po2806",
                           f"Anna {role}", Actor("tests"), role=role)
        staff = Staff(driver, f"http://{HOST}", username=f"{role.capitalize()}.po2806")
        staff.choose_language(lang)
        staff.activate(mailed_link(mailbox))
        staff.sign_in()
        return staff

    return start


def check_page(staff, check_accessible, name):
    """axe at a phone and a desktop; a form page fits 320 px, a table scrolls in its own box."""
    for width, height in (chrome.PHONE, chrome.DESKTOP):
        chrome.set_viewport(staff.driver, width, height)
        check_accessible(staff.driver, f"{name}-{staff.lang}")
    chrome.set_viewport(staff.driver, *chrome.NARROW_PHONE)
    scroll_width, client_width = staff.driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll_width <= client_width, f"{name} scrolls sideways at 320 px: " + \
        staff.driver.execute_script(WIDE)
    chrome.set_viewport(staff.driver, *chrome.PHONE)


def visit_org_pages(staff, check_accessible):
    staff.open("/beheer")
    check_page(staff, check_accessible, "start")
    staff.search("Yvonne", "locked")
    check_page(staff, check_accessible, "parents-search")
    staff.open_parent("Yvonne.testouder")
    tables = staff.driver.find_elements(By.CSS_SELECTOR, ".table-box")
    assert len(tables) >= 2  # the invitations and the sessions
    check_page(staff, check_accessible, "parent")
    clock.advance(301)  # the code of the sign-in is too old for a destructive action
    staff.act(pages.RESET_APP[staff.lang])
    check_page(staff, check_accessible, "step-up")
    staff.confirm_with_code()
    assert staff.heading() == "Yvonne Testouder"
    staff.open("/beheer/ouders/uitnodigen")
    check_page(staff, check_accessible, "invite")
    staff.type("email", "geen-adres")
    staff.press()
    assert staff.driver.find_elements(By.CSS_SELECTOR, pages.ERROR_SUMMARY)
    check_page(staff, check_accessible, "invite-errors")
    staff.open("/beheer/ouders/importeren")
    check_page(staff, check_accessible, "import")
    return staff


@pytest.mark.parametrize("language", pages.LANGUAGES)
def test_the_console_pages_are_accessible(console, check_accessible, tmp_path, language):
    staff = visit_org_pages(console("beheerder", language), check_accessible)
    csv_file = tmp_path / "ouders.csv"
    csv_file.write_text(CSV)
    staff.field("file").send_keys(str(csv_file))
    staff.press()
    check_page(staff, check_accessible, "import-preview")
    staff.open("/beheer/medewerkers")
    check_page(staff, check_accessible, "staff")
    staff.open("/beheer/auditlog")
    check_page(staff, check_accessible, "audit-log")


@pytest.mark.parametrize("language", pages.LANGUAGES)
def test_the_service_pages_are_accessible(console, check_accessible, make_client, language):
    client_id = make_client()["client_id"]
    staff = console("servicebeheer", language)
    for path in ("/beheer/service/organisaties", "/beheer/service/organisaties/nieuw",
                 "/beheer/service/organisaties/PO2806", "/beheer/service/applicaties",
                 f"/beheer/service/applicaties/{client_id}", "/beheer/service/sleutels",
                 "/beheer/service/auditlog", "/beheer/service/applicaties/nieuw"):
        staff.open(path)
        check_page(staff, check_accessible, path.rsplit("/", 1)[-1])
    staff.type("name", "Dossier twee")
    staff.type("redirect_uris", "https://twee.test/callback")
    staff.press()
    check_page(staff, check_accessible, "new-secret")


def test_a_helpdesk_member_unlocks_a_parent_with_the_keyboard_only(console):
    staff = console("helpdesk")
    driver = staff.driver
    tab_to(driver, driver.find_element(By.LINK_TEXT, pages.CONSOLE_PARENTS.heading["nl"]))
    enter_and_wait(staff)
    assert staff.heading() == pages.CONSOLE_PARENTS.heading["nl"]
    tab_to(driver, "q")
    type_keys(driver, "Yvonne")
    enter_and_wait(staff)
    link = driver.find_element(By.LINK_TEXT, "Yvonne.testouder")
    tab_to(driver, link)
    enter_and_wait(staff)
    assert staff.heading() == "Yvonne Testouder"
    unlock = f"//form[.//button[normalize-space()='{pages.UNLOCK['nl']}']]"
    reason = driver.find_element(By.XPATH, unlock + "//input[@name='reason']")
    tab_to(driver, reason.get_attribute("id"))
    type_keys(driver, "Ticket 4711")
    tab_to(driver, reason.get_attribute("id").replace("-reason", "-confirm"), limit=1)
    ActionChains(driver).send_keys(Keys.SPACE).perform()
    assert driver.switch_to.active_element.is_selected()
    tab_to(driver, driver.find_element(
        By.XPATH, f"//button[normalize-space()='{pages.UNLOCK['nl']}']"), limit=1)
    enter_and_wait(staff)
    message = driver.find_element(By.CSS_SELECTOR, "p.message.ok")
    assert pages.UNLOCKED["nl"] in message.text
