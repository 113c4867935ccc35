"""Signing in at /inloggen as the parent handbook describes it (organisation, username, password,
code), what a failed attempt shows, the session it starts, logout and idle expiry."""

import shutil
from urllib.parse import urlsplit

import pytest

from idp import clock, create_app
from idp.extensions import db
from idp.models import Account
from tests import pages
from tests.actors import PASSWORD, Parent, authenticator_code
from tests.conftest import BASE_SETTINGS

WRONG = ("Deze combinatie van gebruikersnaam, wachtwoord en code klopt niet. Let op hoofdletters "
         "en kleine letters, en gebruik de code die de app nu laat zien.")
CODE_NEEDED = "Vul de code in die de app Google Authenticator laat zien."
PAGE_EXPIRED = "Deze pagina was verlopen. Vul het formulier opnieuw in en probeer het nog eens."
STEP = 30


def is_signed_in(browser) -> bool:
    home = browser.get("/")
    if home.status_code == 302:
        assert urlsplit(home.headers["Location"]).path == "/inloggen"
        return False
    assert home.status_code == 200
    return "U bent ingelogd" in pages.text(home.get_data(as_text=True))


def post_sign_in(browser, drop=(), **fields):
    page = browser.get("/inloggen").get_data(as_text=True)
    data = pages.form_fields(page)
    data.update(fields)
    return browser.post("/inloggen", data={k: v for k, v in data.items() if k not in drop})


def log_out(browser):
    form = pages.form_fields(browser.get("/uitloggen").get_data(as_text=True))
    return browser.post("/uitloggen", data=form)


def idp_cookie(browser) -> str | None:
    cookie = browser.get_cookie("idp", domain="idp.test")
    return cookie.value if cookie else None


# --- signing in --------------------------------------------------------------------------------
def test_direct_sign_in_lands_on_the_signed_in_page(parent):
    response = parent.sign_in()
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account"
    home = parent.browser.get(response.headers["Location"])
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert "U bent ingelogd" in pages.text(html)
    assert "Yvonne.testouder" in pages.text(html) and "PO2806 PPO Rotterdam" in pages.text(html)
    # the person icon in the header, which leads to logout
    person = html[html.index('<a class="person"'):]
    person = person[:person.index("</a>")]
    assert 'href="/uitloggen"' in person and "<svg" in person
    assert "Uitloggen" in pages.text(person) and "Yvonne Testouder" in pages.text(person)


@pytest.mark.parametrize("path", ["/", "/inloggen", "/uitloggen", "/end_session", "/bestaat-niet"])
def test_every_page_shows_the_person_icon_to_a_signed_in_parent(parent, path):
    parent.sign_in()
    html = parent.browser.get(path).get_data(as_text=True)
    person = html[html.index('<a class="person"'):]
    person = pages.text(person[:person.index("</a>")])
    assert "Yvonne Testouder" in person and "Uitloggen" in person


def test_sign_in_page_asks_in_handbook_order(parent):
    html = parent.browser.get("/inloggen").get_data(as_text=True)
    labels = [html.index(f'<label for="{name}">{label}</label>')
              for name, label in (("organisation", "Organisatie"), ("username", "Gebruikersnaam"),
                                  ("password", "Wachtwoord"), ("code", "Code"))]
    assert labels == sorted(labels)
    fields = [html.index(f'name="{name}"') for name in ("organisation", "username", "password", "code")]
    assert fields == sorted(fields)


def test_only_organisation_is_preselected_with_its_code_field(parent):
    html = parent.browser.get("/inloggen").get_data(as_text=True)
    assert pages.form_fields(html)["organisation"] == "PO2806"
    assert pages.code_field_visible(html)


def test_with_two_organisations_none_is_chosen_and_code_is_hidden(parent, make_org):
    make_org(code="PO2807", name="PPO Elders")
    html = parent.browser.get("/inloggen").get_data(as_text=True)
    assert pages.form_fields(html)["organisation"] == ""
    assert not pages.code_field_visible(html)
    assert "PO2806 PPO Rotterdam" in html and "PO2807 PPO Elders" in html


def test_without_javascript_the_code_is_asked_for_after_the_first_submit(parent, make_org):
    make_org(code="PO2807", name="PPO Elders")
    response = parent.sign_in(code="")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert pages.code_field_visible(html)
    assert pages.field_errors(html) == {"code": [CODE_NEEDED]}
    assert pages.messages(html) == []
    fields = pages.form_fields(html)
    assert fields["organisation"] == "PO2806" and fields["username"] == "Yvonne.testouder"
    assert fields["password"] == ""  # a password is never sent back
    assert not is_signed_in(parent.browser)

    fields.update(password=PASSWORD, code=authenticator_code(parent.secret))
    assert parent.browser.post("/inloggen", data=fields).status_code == 302
    assert is_signed_in(parent.browser)


def test_organisation_without_two_factor_never_asks_for_a_code(
        app, client, mailbox, make_org, invite, frozen_clock):
    make_org(code="PO9999", name="PPO Proef", requires_2fa=False)
    invite(org_code="PO9999", username="ouder")
    parent = Parent(client, mailbox, username="ouder", org="PO9999")
    parent.activate()

    page = client.get("/inloggen").get_data(as_text=True)
    assert pages.form_fields(page)["organisation"] == "PO9999"
    assert not pages.code_field_visible(page)
    refused = parent.sign_in(password="fietsen langs de rijn 2026", code="")
    assert refused.status_code == 400
    assert pages.messages(refused.get_data(as_text=True)) == [WRONG]
    assert not pages.code_field_visible(refused.get_data(as_text=True))

    response = parent.sign_in(code="")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account"
    assert is_signed_in(client)


# --- every failure looks the same --------------------------------------------------------------
def wrong_code(parent):
    right = authenticator_code(parent.secret)
    return right[:-1] + str((int(right[-1]) + 1) % 10)


FAILURES = {
    "username-wrong-case": lambda parent: dict(username="yvonne.testouder"),
    "wrong-password": lambda parent: dict(password="fietsen langs de rijn 2026"),
    "wrong-code": lambda parent: dict(code=wrong_code(parent)),
    "code-not-digits": lambda parent: dict(code="abcdef"),
    "unknown-username": lambda parent: dict(username="Onbekend.ouder"),
    "not-yet-activated": lambda parent: dict(username="Piet.nogniet"),
    "wrong-organisation": lambda parent: dict(org="PO2807"),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_every_failure_shows_the_same_message(app, parent, make_org, invite, failure):
    make_org(code="PO2807", name="PPO Elders")
    invite(username="Piet.nogniet", email="piet@example.org", name="Piet")
    response = parent.sign_in(**failure(parent))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert pages.messages(html) == [WRONG]
    assert pages.field_errors(html) == {}
    assert not is_signed_in(parent.browser)
    with app.app_context():
        piet = db.session.query(Account).filter_by(username="Piet.nogniet").one()
        assert piet.status == "invited" and piet.password_hash is None
    # Nothing was used up: the right details, with this same code, still sign in.
    assert parent.sign_in().status_code == 302
    assert is_signed_in(parent.browser)


def test_the_enrolment_code_cannot_sign_in(app, client, mailbox, make_org, invite, frozen_clock):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    html = parent.open_activation().get_data(as_text=True)
    parent.secret = parent.scan_key(html)
    enrolment_code = authenticator_code(parent.secret)
    assert parent.submit_activation(html, code=enrolment_code).status_code == 302

    refused = parent.sign_in(code=enrolment_code)
    assert refused.status_code == 400
    assert pages.messages(refused.get_data(as_text=True)) == [WRONG]
    clock.advance(STEP)
    assert parent.sign_in().status_code == 302


# --- codes: replay and the time window ---------------------------------------------------------
def test_a_code_signs_in_once(parent):
    code = authenticator_code(parent.secret)
    assert parent.sign_in(code=code).status_code == 302
    assert log_out(parent.browser).status_code == 200
    assert not is_signed_in(parent.browser)

    clock.advance(STEP - 1 - clock.now() % STEP)  # the last second of the same 30 s step
    assert authenticator_code(parent.secret) == code
    replay = parent.sign_in(code=code)
    assert replay.status_code == 400
    assert pages.messages(replay.get_data(as_text=True)) == [WRONG]
    assert not is_signed_in(parent.browser)

    clock.advance(1)
    assert authenticator_code(parent.secret) != code
    assert parent.sign_in().status_code == 302
    assert is_signed_in(parent.browser)


WINDOW = {
    "two-steps-before": (-2, False),
    "one-step-before": (-1, True),
    "current-step": (0, True),
    "one-step-after": (1, True),
    "two-steps-after": (2, False),
}


@pytest.mark.parametrize("offset, accepted", WINDOW.values(), ids=WINDOW.keys())
def test_codes_one_step_either_side_are_accepted(parent, offset, accepted):
    clock.advance(3 * STEP)  # well past the step used at activation
    code = authenticator_code(parent.secret, at=clock.now() + offset * STEP)
    response = parent.sign_in(code=code)
    if accepted:
        assert response.status_code == 302
        assert is_signed_in(parent.browser)
    else:
        assert response.status_code == 400
        assert pages.messages(response.get_data(as_text=True)) == [WRONG]
        assert not is_signed_in(parent.browser)
        assert parent.sign_in().status_code == 302  # the refused code used nothing up


# --- CSRF, session and cookies -----------------------------------------------------------------
def test_sign_in_without_csrf_token_is_refused(parent):
    code = authenticator_code(parent.secret)
    response = post_sign_in(parent.browser, drop=("csrf_token",), organisation="PO2806",
                            username="Yvonne.testouder", password=PASSWORD, code=code)
    assert response.status_code == 400
    assert pages.messages(response.get_data(as_text=True)) == [PAGE_EXPIRED]
    assert not is_signed_in(parent.browser)
    assert parent.sign_in(code=code).status_code == 302  # the code was not used up


def test_session_id_is_renewed_at_sign_in(app, parent):
    parent.browser.get("/inloggen")
    before = idp_cookie(parent.browser)
    assert before
    assert parent.sign_in().status_code == 302
    after = idp_cookie(parent.browser)
    assert after and after != before
    assert is_signed_in(parent.browser)

    # A session id planted before sign-in (session fixation) is worth nothing afterwards.
    attacker = app.test_client()
    attacker.set_cookie("idp", before, domain="idp.test")
    assert not is_signed_in(attacker)


def session_cookie_headers(response, name):
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def test_session_cookie_is_httponly_and_samesite_lax(app, parent):
    first_visit = app.test_client().get("/inloggen")
    for response in (first_visit, parent.sign_in()):
        [header] = session_cookie_headers(response, "idp")
        attributes = {part.strip().split("=")[0].lower(): part for part in header.split(";")[1:]}
        assert "httponly" in attributes
        assert attributes["samesite"].strip() == "SameSite=Lax"
        assert attributes["path"].strip() == "Path=/"
        assert "secure" not in attributes  # http issuer: a plain cookie
        assert "domain" not in attributes


def test_https_issuer_gets_a_secure_host_cookie(sqlite_template, tmp_path):
    database = tmp_path / "idp.sqlite3"
    shutil.copy(sqlite_template, database)
    app = create_app({**BASE_SETTINGS, "IDP_ISSUER": "https://idp.test",
                      "IDP_DATABASE_URL": f"sqlite:///{database}",
                      "IDP_INSTANCE_DIR": str(tmp_path / "instance")})
    try:
        response = app.test_client().get("/inloggen", base_url="https://idp.test")
        assert response.status_code == 200
        [header] = session_cookie_headers(response, "__Host-idp")
        attributes = {part.strip().split("=")[0].lower(): part.strip()
                      for part in header.split(";")[1:]}
        assert {"secure", "httponly"} <= set(attributes)
        assert attributes["samesite"] == "SameSite=Lax" and attributes["path"] == "Path=/"
        assert "domain" not in attributes  # required for the __Host- prefix
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- logout ------------------------------------------------------------------------------------
def test_logout_asks_first_and_then_logs_out(parent):
    parent.sign_in()
    question = parent.browser.get("/uitloggen")
    assert question.status_code == 200
    html = question.get_data(as_text=True)
    assert "Wilt u uitloggen?" in pages.text(html)
    assert pages.forms(html)[0]["action"] == "/uitloggen"
    assert is_signed_in(parent.browser)  # a GET (a link, an image) logs nobody out

    done = parent.browser.post("/uitloggen", data=pages.form_fields(html))
    assert done.status_code == 200
    assert "U bent uitgelogd" in pages.text(done.get_data(as_text=True))
    assert 'class="person"' not in done.get_data(as_text=True)
    home = parent.browser.get("/")
    assert home.status_code == 302 and urlsplit(home.headers["Location"]).path == "/inloggen"


def test_logout_without_csrf_token_logs_nobody_out(parent):
    parent.sign_in()
    response = parent.browser.post("/uitloggen", data={})
    assert response.status_code == 400
    assert pages.messages(response.get_data(as_text=True)) == [
        "Deze pagina was verlopen. Klik nog een keer op Uitloggen."]
    assert is_signed_in(parent.browser)


# --- idle expiry -------------------------------------------------------------------------------
IDLE = {
    "599s-idle": (599, True),
    "601s-idle": (601, False),
}


@pytest.mark.parametrize("idle, still_signed_in", IDLE.values(), ids=IDLE.keys())
def test_session_ends_after_ten_minutes_unused(parent, idle, still_signed_in):
    assert parent.sign_in().status_code == 302
    clock.advance(idle)
    assert is_signed_in(parent.browser) is still_signed_in


def test_using_the_session_keeps_it_alive(parent):
    assert parent.sign_in().status_code == 302
    for _ in range(3):
        clock.advance(599)
        assert is_signed_in(parent.browser)
    clock.advance(601)
    assert not is_signed_in(parent.browser)
