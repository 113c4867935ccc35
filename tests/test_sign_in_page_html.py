"""The sign-in page's HTML, byte for byte, as a parent gets it: at ``/authorize`` (Dutch, English,
with a ``login_hint``, with two organisations), after a POST with empty fields, after a wrong
password, and at ``/inloggen`` with a notice. Rendering it more cheaply (bench.per_request
--sign-in) must not change a field, label, error, text or a11y attribute.

Only what is random per request is replaced before comparing: the CSRF token, the flow id and
the relying party's client id. The pages are in tests/snapshots/sign_in/; after a deliberate
change of the page, write them anew with ``IDP_WRITE_SNAPSHOTS=1`` and review the diff.
"""

import os
import re
from pathlib import Path

import pytest

from tests import pages
from tests.actors import PASSWORD, authenticator_code

SNAPSHOTS = Path(__file__).parent / "snapshots" / "sign_in"
RANDOM = [
    (re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+'), r"\1CSRF"),
    (re.compile(r"(flow=)[A-Za-z0-9_-]+"), r"\1FLOW"),
]


def same_as_snapshot(name: str, html: str, client_id: str | None = None,
                     expected=lambda snapshot: snapshot) -> None:
    """The page equals the snapshot ``name`` (as ``expected`` changes it)."""
    for pattern, replacement in RANDOM:
        html = pattern.sub(replacement, html)
    if client_id:
        html = html.replace(client_id, "CLIENT")
    path = SNAPSHOTS / f"{name}.html"
    if os.environ.get("IDP_WRITE_SNAPSHOTS") and expected(None) is None:
        path.write_text(html)
    assert html == expected(path.read_text()), f"the page differs from {path}"


def page_at_authorize(browser, rp, **params):
    response = rp.send_to_authorize(browser, **params)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("name, params", [("authorize_nl", {}), ("authorize_en", {"ui_locales": "en"})])
def test_the_page_at_authorize(world, name, params):
    parent, rp = world
    html = page_at_authorize(parent.browser, rp, **params).get_data(as_text=True)
    same_as_snapshot(name, html, rp.client_id)


def test_the_page_with_a_login_hint_is_the_same_with_the_username_filled_in(world):
    parent, rp = world
    html = page_at_authorize(parent.browser, rp, login_hint="Yvonne.testouder").get_data(as_text=True)
    same_as_snapshot("authorize_nl", html, rp.client_id, expected=lambda snapshot: snapshot and (
        snapshot.replace('name="username" required spellcheck="false" type="text" value=""',
                         'name="username" required spellcheck="false" type="text" '
                         'value="Yvonne.testouder"')))


def test_the_page_with_two_organisations(world, make_org):
    parent, rp = world
    make_org(code="PO2807", name="PPO Elders", requires_2fa=False)
    html = page_at_authorize(parent.browser, rp).get_data(as_text=True)
    same_as_snapshot("authorize_two_organisations", html, rp.client_id)


def test_the_page_after_a_post_with_empty_fields(world):
    parent, rp = world
    page = page_at_authorize(parent.browser, rp)
    response = parent.sign_in(page=page, username="", password="", code="")
    assert response.status_code == 400
    same_as_snapshot("post_empty", response.get_data(as_text=True), rp.client_id)


def test_the_page_after_a_wrong_password_in_english(world):
    parent, rp = world
    page = page_at_authorize(parent.browser, rp, ui_locales="en")
    response = parent.sign_in(page=page, password=PASSWORD + "!")
    assert response.status_code == 400
    same_as_snapshot("post_wrong_password_en", response.get_data(as_text=True), rp.client_id)


def test_the_page_at_inloggen_with_a_notice(world):
    parent, _ = world
    response = parent.browser.get("/inloggen?geactiveerd=1")
    assert response.status_code == 200
    same_as_snapshot("inloggen_notice", response.get_data(as_text=True))


def test_the_snapshots_are_pages_a_parent_can_use(world):
    """The snapshots themselves hold the form as the tests above expect: a guard against
    writing a broken page into them."""
    html = (SNAPSHOTS / "authorize_nl.html").read_text()
    fields = pages.form_fields(html)
    assert set(fields) == {"csrf_token", "organisation", "username", "password", "code"}
    assert fields["organisation"] == "PO2806"
    assert pages.code_field_visible(html)
    assert "Inloggen" in pages.text(html)
    parent, rp = world
    page = page_at_authorize(parent.browser, rp)
    response = parent.sign_in(page=page, code=authenticator_code(parent.secret))
    assert response.status_code == 302
