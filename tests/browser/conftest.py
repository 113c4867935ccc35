"""The browser tests' fixtures: the app served from a thread (the embedded default), headless
Chromium pointed at it, axe-core, screenshots, and the parent of tests/actors.py in the browser.
Each worker keeps one server and one Chromium for all its tests; the browser forgets each
test's pages, cookies and storage before the next one gets it.

One backend: the embedded default (SQLite, in-process store, outbox). The pages are the same on
both backends (the HTTP tests prove that on each), and the in-process server shares the test's
frozen clock, so a code is fresh or an idle session ends when the test says, without sleeping."""

import fcntl
import re
import tempfile
from types import SimpleNamespace
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException

from idp.browser import chrome
from idp.browser.live import LiveServer
from idp.browser.parent import Parent
from tests.browser import axe

SCREENSHOTS = Path(__file__).parent / "screenshots"
HOST = "idp.test"  # the test app's issuer: its links and redirects go here


@pytest.fixture(params=["sqlite"])
def backend(request):
    """Only the embedded default (see the module's docstring)."""
    return request.param


class _TestsApp:
    """The WSGI app of the test that runs now: one server per worker, so its port, and with it
    the browser's host mapping, stays the same from test to test."""

    app = None

    def __call__(self, environ, start_response):
        if self.app is None:  # between tests: a request the last page left behind
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no test is running"]
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def _live_server():
    tests_app = _TestsApp()
    live = LiveServer(tests_app)
    yield live, tests_app
    live.stop()


@pytest.fixture
def server(app, _live_server):
    live, tests_app = _live_server
    tests_app.app = app
    yield live
    tests_app.app = None


def _start(live, javascript, size):
    try:
        return chrome.start({f"{HOST}:80": live.address}, javascript, size)
    except chrome.BrowserMissing as missing:
        pytest.fail(str(missing))


def _forget_the_test(driver, live) -> None:
    """What a test left in the browser goes: pages, cookies, storage, cache, the window size."""
    for handle in driver.window_handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(driver.window_handles[0])
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    for origin in (f"http://{HOST}", f"http://{live.address}"):
        driver.execute_cdp_cmd("Storage.clearDataForOrigin",
                               {"origin": origin, "storageTypes": "all"})
    chrome.set_viewport(driver, *chrome.PHONE)


@pytest.fixture(scope="session")
def _worker_browser(_live_server):
    """One Chromium per worker for the tests' first browser with JavaScript on (starting one
    took about as long as the test itself); a test that opens more gets fresh ones."""
    live, _tests_app = _live_server
    browser = {"driver": _start(live, True, chrome.PHONE)}
    yield browser
    chrome.stop(browser["driver"])


@pytest.fixture
def open_browser(server, _worker_browser, request):
    """Start a browser: ``open_browser(javascript=False, size=(320, 640))``."""
    started, lent = [], []

    def start(javascript=True, size=chrome.PHONE):
        if javascript and not lent:
            driver = _worker_browser["driver"]
            chrome.set_viewport(driver, *size)
            lent.append(driver)
            return driver
        driver = _start(server, javascript, size)
        started.append(driver)
        return driver

    yield start
    for driver in started:
        chrome.stop(driver)
    for driver in lent:
        try:
            _forget_the_test(driver, server)
        except WebDriverException:  # left in a state it cannot leave: the next test gets a new one
            chrome.stop(driver)
            _worker_browser["driver"] = _start(server, True, chrome.PHONE)


@pytest.fixture
def driver(open_browser):
    return open_browser()


@pytest.fixture(scope="session")
def axe_script():
    """axe-core, installed by the first worker that needs it while the other waits (two
    `npm install`s in one folder would trip over each other)."""
    with open(Path(tempfile.gettempdir()) / "idp-test-axe-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return axe.source()


@pytest.fixture
def check_accessible(axe_script, request):
    """``check_accessible(driver, "sign-in page")``: axe-core finds no WCAG 2.2 A/AA violation
    (unless ``axe_too=False``), and a screenshot is kept in tests/browser/screenshots/ (ignored
    by git)."""

    def check(driver, page: str, axe_too=True):
        shoot(driver, request.node.name, page)
        if axe_too:
            axe.assert_accessible(driver, axe_script, page)

    return check


def shoot(driver, test_name: str, page: str) -> Path | None:
    """A screenshot for people to look at, not an assertion: Chromium's DevTools sometimes loses
    a node while the page's script moves the focus ("Node with given id does not belong to the
    document"), so it is tried twice and then left out."""
    width = driver.execute_script("return window.innerWidth")
    name = re.sub(r"[^\w.-]+", "-", f"{test_name}-{page}-{width}").strip("-")
    for attempt in (1, 2):
        try:
            return chrome.screenshot(driver, SCREENSHOTS / f"{name}.png")
        except WebDriverException:
            if attempt == 2:
                return None
    return None


@pytest.fixture
def orgs(make_org):
    """PO2806 signs in with a code (two-factor), PO1000 without."""
    make_org()
    make_org(code="PO1000", name="PPO Zonder Code", requires_2fa=False)


def mailed_link(mailbox) -> str:
    """The link of the last e-mail (``adres: ...``), as the parent would click it."""
    body = mailbox.last().get_body(("plain",)).get_content()
    return re.search(r"adres: (\S+)", body).group(1)


@pytest.fixture
def invited(orgs, invite, mailbox, frozen_clock):
    """Yvonne of PO2806, invited: returns the activation link from her welcome e-mail."""
    invite()
    return mailed_link(mailbox)


@pytest.fixture
def site(app, mailbox, invited):
    """What a visit to a page may need: the app, the mailbox and Yvonne's activation link."""
    return SimpleNamespace(app=app, link=invited, mailbox=SimpleNamespace(
        link=lambda: mailed_link(mailbox)))


@pytest.fixture
def parent(driver, invited):
    """Yvonne in the browser, not yet activated (``parent.activate(invited)``)."""
    return Parent(driver, f"http://{HOST}")


@pytest.fixture
def activated(parent, invited):
    parent.activate(invited)
    return parent
