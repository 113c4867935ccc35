"""Staff sign in on the parents' sign-in page, always with a code, and the console takes only
such a session, under the 10-minute idle rule; destructive actions ask a fresh code (step-up)."""

import pytest

from idp import clock
from tests import pages
from tests.actors import Parent
from tests.conftest import subject_of


def test_staff_signs_in_with_a_code_and_lands_in_the_console(app, make_org, make_staff):
    make_org()
    staff = make_staff("medewerker")
    home = staff.page("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/beheer/")
    console = staff.page("/beheer/ouders")
    assert console.status_code == 200
    assert "Ouders" in pages.text(console.get_data(as_text=True))


def test_staff_land_in_the_console_and_parents_on_their_page_after_signing_in(
        app, make_staff, parent):
    """Signing in with nobody waiting: staff come to work, a parent sees their account page."""
    staff = make_staff("helpdesk", sign_in=False)
    signed_in = staff.sign_in()
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/beheer/")
    parent_signed_in = parent.sign_in()
    assert parent_signed_in.status_code == 302
    assert parent_signed_in.headers["Location"].endswith("/account")


def test_staff_activation_enrols_an_authenticator_where_parents_have_none(
        app, make_org, make_staff):
    make_org(requires_2fa=False)
    staff = make_staff("helpdesk", sign_in=False)
    assert staff.secret, "no authenticator key on the staff member's activation page"


def test_without_code_field_a_staff_member_gets_a_second_step(app, make_org, make_staff):
    make_org(requires_2fa=False)
    staff = make_staff("helpdesk", sign_in=False)
    first = Parent.sign_in(staff, code="")
    assert first.status_code == 302 and first.headers["Location"].endswith("/inloggen/code")
    assert staff.page("/beheer/ouders").status_code == 302  # not signed in yet
    second = staff.give_code()
    assert second.status_code == 302
    assert staff.page("/beheer/ouders").status_code == 200


def test_a_wrong_code_in_the_second_step_starts_again(app, make_org, make_staff):
    make_org(requires_2fa=False)
    staff = make_staff("helpdesk", sign_in=False)
    Parent.sign_in(staff, code="")
    wrong = staff.give_code("000000")
    assert wrong.status_code == 302
    page = staff.browser.get(wrong.headers["Location"])
    assert "klopt niet" in pages.text(page.get_data(as_text=True))
    assert staff.page("/beheer/ouders").status_code == 302
    assert staff.browser.get("/inloggen/code").status_code == 302  # the step is gone


def test_wrong_password_of_staff_looks_like_any_wrong_password(app, make_org, make_staff):
    """No step, no hint: a guesser cannot tell a staff username from a parent's or nobody's."""
    make_org(requires_2fa=False)
    staff = make_staff("beheerder", sign_in=False)
    staff_answer = Parent.sign_in(staff, password="niet het wachtwoord 123", code="")
    nobody_answer = Parent.sign_in(staff, username="Niemand.hier", password="niet het wachtwoord 123",
                                   code="")
    assert staff_answer.status_code == nobody_answer.status_code == 400
    assert (pages.messages(staff_answer.get_data(as_text=True))
            == pages.messages(nobody_answer.get_data(as_text=True)))


def test_a_parent_session_never_opens_the_console(app, parent):
    parent.sign_in()
    assert parent.browser.get("/beheer/ouders").status_code == 403
    assert parent.browser.get("/beheer/").status_code == 403


def test_not_signed_in_goes_to_the_sign_in_page(app, client, make_org):
    make_org()
    response = client.get("/beheer/ouders")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inloggen")


def test_console_session_ends_after_ten_idle_minutes(app, make_org, make_staff):
    make_org()
    staff = make_staff("medewerker")
    clock.advance(9 * 60)
    assert staff.page("/beheer/ouders").status_code == 200  # used: the ten minutes start again
    clock.advance(10 * 60 + 1)
    assert staff.page("/beheer/ouders").status_code == 302


def test_sign_in_sets_the_last_sign_in_time(app, parent, make_staff):
    detail = f"/beheer/ouders/{subject_of(app, 'Yvonne.testouder')}"
    staff = make_staff("medewerker")
    before = pages.text(staff.page(detail).get_data(as_text=True))
    assert "Laatst ingelogd –" in before
    parent.sign_in()
    after = pages.text(staff.page(detail).get_data(as_text=True))
    assert "Laatst ingelogd –" not in after
    assert "Actieve sessies" in after and "Geen actieve sessies" not in after


@pytest.mark.parametrize("minutes_since_code, asks_code", [(4, False), (6, True)],
                         ids=["code-4-minutes-ago", "code-6-minutes-ago"])
def test_destructive_action_asks_a_fresh_code_after_five_minutes(
        app, make_org, make_staff, invite, minutes_since_code, asks_code):
    make_org()
    invite()
    subject = subject_of(app, "Yvonne.testouder")
    staff = make_staff("beheerder")
    clock.advance(minutes_since_code * 60)
    detail = f"/beheer/ouders/{subject}"
    response = staff.act(detail, f"{detail}/verwijderen")
    location = response.headers["Location"]
    if not asks_code:
        assert location.endswith("/beheer/ouders")
        return
    assert "/beheer/bevestigen?next=" in location
    assert staff.page(detail).status_code == 200  # nothing happened yet
    clock.advance(30)
    confirmed = staff.give_code(url=location)
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith(detail)
    done = staff.act(detail, f"{detail}/verwijderen")
    assert done.headers["Location"].endswith("/beheer/ouders")
    assert staff.page(detail).status_code == 404


def test_a_wrong_step_up_code_changes_nothing(app, make_org, make_staff, invite):
    make_org()
    invite()
    subject = subject_of(app, "Yvonne.testouder")
    staff = make_staff("beheerder")
    clock.advance(6 * 60)
    response = staff.act(f"/beheer/ouders/{subject}", f"/beheer/ouders/{subject}/verwijderen")
    wrong = staff.give_code("000000", url=response.headers["Location"])
    assert wrong.status_code == 400
    again = staff.act(f"/beheer/ouders/{subject}", f"/beheer/ouders/{subject}/verwijderen")
    assert "/beheer/bevestigen" in again.headers["Location"]


@pytest.mark.parametrize("target, lands_on", [
    ("/beheer/ouders", "/beheer/ouders"),
    ("https://evil.example/beheer/", "/beheer/"),
    ("//evil.example/beheer/", "/beheer/"),
    ("/beheer\\@evil.example", "/beheer/"),
    ("/inloggen", "/beheer/"),
], ids=["console-page", "other-site", "scheme-relative", "backslash", "outside-console"])
def test_step_up_returns_only_to_a_console_page(app, make_org, make_staff, target, lands_on):
    make_org()
    staff = make_staff("helpdesk")
    clock.advance(30)
    response = staff.give_code(url=f"/beheer/bevestigen?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] in (lands_on, f"http://idp.test{lands_on}")


def test_the_second_step_keeps_a_relying_partys_request(app, make_org, make_client, make_staff):
    """A staff member who signs in for a relying party (in an organisation without codes)
    goes back to it after the code, with a token that says a code was used."""
    from tests.actors import RelyingParty

    make_org(requires_2fa=False)
    registered = make_client()
    staff = make_staff("helpdesk", sign_in=False)
    rp = RelyingParty(staff.browser, registered["client_id"], registered["client_secret"],
                      registered["redirect_uri"])
    start = rp.send_to_authorize(staff.browser, "GET")
    first = Parent.sign_in(staff, page=start, code="")
    assert first.headers["Location"].endswith("/inloggen/code")
    done = staff.give_code()  # the code step answers the waiting request itself
    params = rp.callback_params(done)
    tokens = rp.exchange(params["code"]).get_json()
    claims = rp.validate_id_token(tokens["id_token"], tokens["access_token"])
    assert claims["amr"] == ["pwd", "otp"]
