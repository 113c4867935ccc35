"""The parents' pages of the console: list, search, filter and paging within the own
organisation; inviting with a suggested username; a parent's page; the actions' answers."""

import re

import pytest

from idp import clock
from idp.extensions import db
from idp.models import Account, AuditEvent
from tests import pages
from tests.conftest import subject_of


def names_listed(response) -> list[str]:
    html = response.get_data(as_text=True)
    return [pages.text(cell) for cell in
            re.findall(r'<td><a href="/beheer/ouders/[^"]+">(.*?)</a></td>', html)]


@pytest.fixture
def families(app, make_org, invite, frozen_clock):
    """Three parents of PO2806, one of them with an expired link, and one of PO2801."""
    make_org("PO2806", "PPO Rotterdam")
    make_org("PO2801", "PPO Den Haag")
    invite("PO2806", "Yvonne.testouder", "yvonne@example.org", "Yvonne Testouder")
    invite("PO2806", "Bram.devries", "bram@voorbeeld.nl", "Bram de Vries")
    invite("PO2806", "Sara.jansen", "sara@example.org", "Sara Jansen")
    invite("PO2801", "Yvonne.denhaag", "yvonne@denhaag.nl", "Yvonne Den Haag")
    with app.app_context():  # Sara's link ran out
        from idp.models import Activation

        sara = db.session.query(Account).filter_by(username="Sara.jansen").one()
        db.session.query(Activation).filter_by(account_id=sara.id).update(
            {"expires_at": clock.timestamp() - 1})
        db.session.commit()


@pytest.mark.parametrize("query, status, expected", [
    ("", "", ["Bram.devries", "Sara.jansen", "Yvonne.testouder"]),
    ("yvonne", "", ["Yvonne.testouder"]),               # username, case ignored; not PO2801's
    ("de vries", "", ["Bram.devries"]),                 # any part of the name
    ("sara@", "", ["Sara.jansen"]),                     # start of the e-mail address
    ("%", "", []),                                      # a wildcard is a character
    ("", "invited", ["Bram.devries", "Yvonne.testouder"]),
    ("", "link_expired", ["Sara.jansen"]),
    ("", "active", []),
    ("", "nonsense", ["Bram.devries", "Sara.jansen", "Yvonne.testouder"]),
], ids=["all", "username", "name", "email", "wildcard", "invited", "link-expired", "active",
        "unknown-status"])
def test_search_and_filter_stay_in_the_organisation(app, families, make_staff, query, status,
                                                     expected):
    staff = make_staff("medewerker")
    response = staff.browser.get("/beheer/ouders", query_string={"q": query, "status": status})
    assert response.status_code == 200
    assert names_listed(response) == expected


@pytest.mark.app_settings(IDP_CONSOLE_PAGE_SIZE=2)
def test_the_list_is_paged(app, families, make_staff):
    staff = make_staff("medewerker")
    first = staff.page("/beheer/ouders")
    assert names_listed(first) == ["Bram.devries", "Sara.jansen"]
    next_link = re.search(r'href="(/beheer/ouders\?na=[^"]+)"',
                                        first.get_data(as_text=True)).group(1)
    second = staff.page(next_link.replace("&amp;", "&"))
    assert names_listed(second) == ["Yvonne.testouder"]
    assert "Volgende pagina" not in pages.text(second.get_data(as_text=True))


def test_invite_suggests_a_username_then_invites(app, make_org, make_staff, mailbox):
    make_org()
    staff = make_staff("medewerker")
    form = pages.form_fields(staff.page("/beheer/ouders/uitnodigen").get_data(as_text=True))
    form.update(name="Yvonne Testouder", email="yvonne@example.org", username="")
    suggested = staff.browser.post("/beheer/ouders/uitnodigen", data=form)
    assert suggested.status_code == 200
    fields = pages.form_fields(suggested.get_data(as_text=True))
    assert fields["username"] == "Yvonne.testouder"
    with app.app_context():
        assert db.session.query(Account).filter_by(username="Yvonne.testouder").count() == 0
    invited = staff.browser.post("/beheer/ouders/uitnodigen", data=fields)
    assert invited.status_code == 302
    page = staff.browser.get(invited.headers["Location"])
    assert "De uitnodiging is verstuurd naar yvonne@example.org." in pages.messages(
        page.get_data(as_text=True), "ok")
    assert mailbox.last()["To"] == "yvonne@example.org"


@pytest.mark.parametrize("username, email, field", [
    ("Yvonne.testouder", "ander@example.org", "username"),
    ("Yvonne.ander", "yvonne@example.org", "email"),
], ids=["duplicate-username", "duplicate-email"])
def test_a_duplicate_gets_a_clear_message_at_its_field(app, make_org, make_staff, invite,
                                                       username, email, field):
    make_org()
    invite()
    staff = make_staff("medewerker")
    form = pages.form_fields(staff.page("/beheer/ouders/uitnodigen").get_data(as_text=True))
    form.update(name="Yvonne Ander", email=email, username=username)
    response = staff.browser.post("/beheer/ouders/uitnodigen", data=form)
    assert response.status_code == 400
    errors = pages.field_errors(response.get_data(as_text=True))
    assert list(errors) == [field] and errors[field][0]


def test_parent_page_shows_invitation_history_and_audit_trail(app, make_org, make_staff, invite):
    make_org()
    invite()
    subject = subject_of(app, "Yvonne.testouder")
    staff = make_staff("medewerker")
    detail = f"/beheer/ouders/{subject}"
    resent = staff.act(detail, f"{detail}/opnieuw-uitnodigen", reason=None)
    assert resent.status_code == 302 and resent.headers["Location"].endswith(detail)
    text = pages.text(staff.page(detail).get_data(as_text=True))
    assert "Vervangen door een nieuwe uitnodiging" in text and "Nog niet gebruikt" in text
    assert "Nieuwe uitnodiging gestuurd" in text and "Medewerker PO2806 (medewerker, PO2806)" in text


@pytest.mark.parametrize("reason, confirm, message, kind", [
    ("Ticket 4711", True, "Het account is uitgeschakeld", "ok"),
    ("", True, "Vul eerst een reden in", "error"),
    ("Ticket 4711", False, "Vink eerst aan dat u het zeker weet", "error"),
], ids=["done", "no-reason", "not-confirmed"])
def test_an_action_answers_with_a_message_on_the_same_page(app, parent, make_staff, reason,
                                                             confirm, message, kind):
    subject = subject_of(app, "Yvonne.testouder")
    staff = make_staff("helpdesk")
    detail = f"/beheer/ouders/{subject}"
    response = staff.act(detail, f"{detail}/uitschakelen", reason=reason, confirm=confirm)
    assert response.status_code == 302 and response.headers["Location"].endswith(detail)
    shown = pages.messages(staff.page(detail).get_data(as_text=True), kind)
    assert any(m.startswith(message) for m in shown), shown
    with app.app_context():
        disabled = db.session.query(Account).filter_by(username="Yvonne.testouder").one().status
        events = db.session.query(AuditEvent).filter_by(action="account.disable").all()
    assert (disabled == "disabled") is (kind == "ok")
    assert [(e.actor, e.ip, e.detail.get("reason")) for e in events] == (
        [("Helpdesk PO2806 (helpdesk, PO2806)", "127.0.0.1", "Ticket 4711")] if kind == "ok" else [])


def test_a_staff_member_is_never_a_parent_in_the_console(app, make_org, make_staff):
    """The parents' pages never show or act on staff: a helpdesk could otherwise reset a
    beheerder's authenticator."""
    make_org()
    helpdesk = make_staff("helpdesk")
    make_staff("beheerder", sign_in=False)
    beheerder = subject_of(app, "Beheerder.po2806")
    assert helpdesk.page(f"/beheer/ouders/{beheerder}").status_code == 404
    assert names_listed(helpdesk.page("/beheer/ouders")) == []


def test_beheerder_invites_and_disables_staff_but_not_self(app, make_org, make_staff, mailbox):
    make_org()
    beheerder = make_staff("beheerder")
    form = pages.form_fields(beheerder.page("/beheer/medewerkers/uitnodigen").get_data(as_text=True))
    form.update(name="Anna de Vries", email="anna@ppo.test", username="Anna.devries",
                role="helpdesk")
    invited = beheerder.browser.post("/beheer/medewerkers/uitnodigen", data=form)
    assert invited.status_code == 302 and invited.headers["Location"].endswith("/beheer/medewerkers")
    with app.app_context():
        assert db.session.query(Account).filter_by(username="Anna.devries").one().role == "helpdesk"
    anna = subject_of(app, "Anna.devries")
    disabled = beheerder.act("/beheer/medewerkers", f"/beheer/medewerkers/{anna}/uitschakelen",
                             reason="Uit dienst")
    assert disabled.status_code == 302
    listing = beheerder.page("/beheer/medewerkers").get_data(as_text=True)
    assert f"/beheer/medewerkers/{anna}/inschakelen" in listing
    own = subject_of(app, "Beheerder.po2806")
    assert f"/beheer/medewerkers/{own}/" not in listing  # no button to disable oneself


@pytest.mark.parametrize("button, status", [("uitschakelen", "disabled"), ("inschakelen", "active")])
def test_the_staff_page_asks_the_reason_that_disabling_staff_needs(app, make_org, make_staff,
                                                                   button, status):
    """The form as the page has it: a reason field to fill in (idp.accounts.actions refuses
    to disable or enable without one), the box ticked, the button pressed."""
    make_org()
    beheerder = make_staff("beheerder")
    make_staff("helpdesk", sign_in=False)
    helpdesk = subject_of(app, "Helpdesk.po2806")
    if button == "inschakelen":
        beheerder.act("/beheer/medewerkers", f"/beheer/medewerkers/{helpdesk}/uitschakelen")
    html = beheerder.page("/beheer/medewerkers").get_data(as_text=True)
    [form] = [f for f in pages.forms(html) if f["action"].endswith(f"{helpdesk}/{button}")]
    assert "reason" in form["fields"]
    pressed = beheerder.browser.post(form["action"], data={**form["fields"], "confirm": "yes",
                                                          "reason": "Uit dienst"})
    assert pressed.status_code == 302
    with app.app_context():
        assert db.session.query(Account).filter_by(username="Helpdesk.po2806").one().status == status


def invitation_rows(html: str) -> list[list[str]]:
    table = html.split(">Uitnodigingen</h2>", 1)[1].split("</table>", 1)[0]
    return [[pages.text(cell) for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
            if "<td>" in row]


def test_invitation_history_shows_opened_then_activated(app, make_org, make_staff, invite,
                                                        mailbox):
    from tests.actors import Parent

    make_org()
    invite()
    parent = Parent(app.test_client(), mailbox)
    link = parent.activation_link()
    staff = make_staff("medewerker")
    detail = f"/beheer/ouders/{subject_of(app, 'Yvonne.testouder')}"
    [(sent, opened, outcome, ended)] = invitation_rows(staff.page(detail).get_data(as_text=True))
    assert (opened, outcome, ended) == ("–", "Nog niet gebruikt", "–")
    html = parent.open_activation(link).get_data(as_text=True)
    [(_, opened, outcome, _)] = invitation_rows(staff.page(detail).get_data(as_text=True))
    assert opened != "–" and outcome == "Nog niet gebruikt"
    assert parent.submit_activation(html).status_code == 302
    [(_, _, outcome, ended)] = invitation_rows(staff.page(detail).get_data(as_text=True))
    assert outcome == "Geactiveerd" and ended != "–"
