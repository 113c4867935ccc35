"""The demo relying party at /demo/: the whole parent journey in a browser after `idp demo up`,
and clear Dutch messages when a callback cannot be trusted."""

import html
import shutil
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import func, select

from idp import clock, create_app, keys
from idp.cli.demo import seed
from idp.extensions import db
from idp.models import Account
from tests import conftest, pages
from tests.actors import Parent

# What `idp demo up` serves on; client registration only allows plain http on localhost, so
# seed() cannot register the demo client under the suite's usual http://idp.test.
ISSUER = "http://127.0.0.1:5000"
ISS = f"iss={quote(ISSUER, safe='')}"  # RFC 9207: every authorization response names us


@pytest.fixture
def make_app(tmp_path, sqlite_template):
    """Apps on a copy of the migrated SQLite file (the embedded default is what `demo up` runs)."""
    made = []

    def make(demo_rp=True):
        database = tmp_path / f"idp{len(made)}.sqlite3"
        shutil.copy(sqlite_template, database)
        made.append(create_app({
            **conftest.BASE_SETTINGS, "IDP_DEMO_RP": demo_rp,
            "IDP_ISSUER": ISSUER, "SERVER_NAME": "127.0.0.1:5000",
            "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
            "IDP_DATABASE_URL": f"sqlite:///{database}",
        }))
        return made[-1]

    clock.unfreeze()
    keys.forget_cache()
    yield make
    clock.unfreeze()
    keys.forget_cache()
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def demo(make_app, frozen_clock):
    """`idp demo up` without the server: seeded, and the demo parent activated."""
    app = make_app()
    with app.app_context():
        seed()
    browser = app.test_client()
    parent = Parent(browser, conftest.Mailbox(app, "sqlite", None))
    parent.activate()
    return app, browser, parent


def text_of(response) -> str:
    return pages.text(response.get_data(as_text=True))


def test_parent_clicks_through_the_demo(demo):
    app, browser, parent = demo
    home = browser.get("/demo/")
    assert home.status_code == 200 and 'href="/demo/inloggen"' in home.get_data(as_text=True)

    to_idp = browser.get("/demo/inloggen")
    assert to_idp.status_code == 302
    query = parse_qs(urlsplit(to_idp.headers["Location"]).query)
    assert to_idp.headers["Location"].startswith(f"{ISSUER}/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == [f"{ISSUER}/demo/callback"]

    sign_in_page = browser.get(to_idp.headers["Location"])
    assert sign_in_page.status_code == 200 and "Inloggen" in text_of(sign_in_page)
    back = parent.sign_in(page=sign_in_page)
    assert back.status_code == 302, text_of(back)[:600]
    assert back.headers["Location"].startswith(f"{ISSUER}/demo/callback?code=")
    assert back.headers["Location"].endswith(f"&{ISS}")

    page = browser.get(back.headers["Location"])
    shown = text_of(page)
    assert page.status_code == 200, shown[:600]
    assert "U bent ingelogd" in shown
    for claim in ("Yvonne.testouder", "PO2806", "pwd, otp", ISSUER, "nonce"):
        assert claim in shown
    userinfo = html.unescape(page.get_data(as_text=True).split('<pre class="userinfo">')[1])
    assert '"email": "yvonne.testouder@example.org"' in userinfo
    assert '"org": "PO2806"' in userinfo

    # The callback is used up: reloading it does not sign in again.
    again = browser.get(back.headers["Location"])
    assert again.status_code == 400 and "niet bekend" in text_of(again)

    # Logging out through the dossier ends the session here and comes back to the demo.
    logout = html.unescape(page.get_data(as_text=True).split('class="button" href="')[1].split('"')[0])
    assert logout.startswith(f"{ISSUER}/end_session?id_token_hint=")
    returned = browser.get(logout)
    assert returned.headers["Location"].startswith(f"{ISSUER}/demo/?state=")
    assert browser.get("/").status_code == 302  # signed out: back to the sign-in page


def test_demo_stays_dutch_whatever_the_parent_chose(demo):
    app, browser, parent = demo
    browser.get("/inloggen?lang=en")
    page = browser.get("/demo/").get_data(as_text=True)
    assert '<html lang="nl">' in page and "Demo dossier" in page
    assert 'class="languages"' not in page  # its pages are another website's: no switch
    assert "Hulp nodig?" in pages.text(page)


def test_state_mismatch_is_refused(demo):
    app, browser, parent = demo
    browser.get("/demo/inloggen")
    response = browser.get(f"/demo/callback?code=abc&state=not-the-one&{ISS}")
    assert response.status_code == 400
    assert "Deze inlogpoging is niet bekend" in text_of(response)


@pytest.mark.parametrize("iss", ["", "&iss=https%3A%2F%2Fother-provider.test", f"&{ISS}x"],
                         ids=["missing", "another", "longer"])
def test_a_response_from_another_issuer_is_refused(demo, iss):
    """RFC 9207's mix-up defence, as a relying party does it."""
    app, browser, parent = demo
    sign_in_page = browser.get(browser.get("/demo/inloggen").headers["Location"])
    back = parent.sign_in(page=sign_in_page).headers["Location"]
    response = browser.get(back.replace(f"&{ISS}", iss))
    assert response.status_code == 400
    assert "komt niet van de inlogdienst" in text_of(response)


def test_callback_without_a_started_sign_in_is_refused(demo):
    app, browser, parent = demo
    response = browser.get(f"/demo/callback?code=abc&state=xyz&{ISS}")
    assert response.status_code == 400 and "klik opnieuw op Inloggen" in text_of(response)


def test_access_denied_is_explained(demo):
    app, browser, parent = demo
    state = parse_qs(urlsplit(browser.get("/demo/inloggen").headers["Location"]).query)["state"][0]
    response = browser.get(f"/demo/callback?error=access_denied&state={state}&{ISS}")
    assert response.status_code == 400
    assert "U heeft het inloggen afgebroken" in text_of(response)


def test_unknown_error_shows_its_code(demo):
    app, browser, parent = demo
    response = browser.get(f"/demo/callback?error=server_error&state=x&{ISS}")
    assert response.status_code == 400 and "foutcode: server_error" in text_of(response)


def test_without_the_demo_client_the_page_says_what_to_run(make_app):
    response = make_app().test_client().get("/demo/")
    assert response.status_code == 404 and "idp demo up" in text_of(response)


def test_off_by_default(make_app):
    app = make_app(demo_rp=False)
    assert "demo" not in app.blueprints
    assert app.test_client().get("/demo/").status_code == 404


def test_the_demo_has_a_beheerder_for_the_console(demo):
    """The console tour of the README: a staff member is invited with the demo, only once."""
    app, _, _ = demo
    with app.app_context():
        staff = db.session.scalar(select(Account).where(Account.username == "Anna.beheer"))
        assert (staff.role, staff.status) == ("beheerder", "invited")
        seed()  # again: nothing twice
        assert db.session.scalar(select(func.count()).select_from(Account)
                                 .where(Account.role.is_not(None))) == 1
