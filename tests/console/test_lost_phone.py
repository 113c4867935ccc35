"""The lost phone through the console, end to end: the helpdesk resets the app on the parent's
page, the parent links a new phone with the e-mailed link and signs in with it, and the old
phone's codes no longer work; with four eyes a second staff member approves first."""

from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.models import AuditEvent, Organisation
from tests import pages
from tests.actors import authenticator_code
from tests.conftest import subject_of
from tests.test_account_actions import refused_like_a_wrong_password
from tests.test_account_links import link_new_phone, mailed_link


def test_lost_phone_from_the_console_to_a_new_sign_in(app, parent, make_staff, mailbox):
    old_secret = parent.secret
    assert parent.sign_in().status_code == 302
    helpdesk = make_staff("helpdesk")
    detail = f"/beheer/ouders/{subject_of(app, 'Yvonne.testouder')}"
    response = helpdesk.act(detail, f"{detail}/authenticator-resetten", reason="Ticket 4711")
    assert response.headers["Location"].endswith(detail)
    page = pages.text(helpdesk.page(detail).get_data(as_text=True))
    assert "De oude app werkt niet meer." in page and "Geen actieve sessies." in page
    assert parent.browser.get("/").status_code == 302  # the parent's session ended

    new_secret, done = link_new_phone(parent, mailed_link(mailbox))
    assert done.status_code == 302
    clock.advance(30)
    assert refused_like_a_wrong_password(parent.sign_in(code=authenticator_code(old_secret)))
    clock.advance(30)
    parent.secret = new_secret
    assert parent.sign_in().status_code == 302
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "account.reset_authenticator")).all()
        assert (event.actor, event.detail["reason"]) == ("Helpdesk PO2806 (helpdesk, PO2806)",
                                                         "Ticket 4711")


def test_four_eyes_a_second_staff_member_approves_in_the_console(app, parent, make_staff,
                                                                 mailbox):
    with app.app_context():
        db.session.scalar(select(Organisation)).four_eyes_reset = True
        db.session.commit()
    helpdesk = make_staff("helpdesk")
    beheerder = make_staff("beheerder")
    detail = f"/beheer/ouders/{subject_of(app, 'Yvonne.testouder')}"
    helpdesk.act(detail, f"{detail}/authenticator-resetten", reason="Ticket 4711")
    waiting = pages.text(helpdesk.page(detail).get_data(as_text=True))
    assert "wacht op goedkeuring door een tweede medewerker" in waiting
    assert "/nieuwe-app/" not in mailbox.last().get_body(("plain",)).get_content()

    own = helpdesk.act(detail, f"{detail}/reset-goedkeuren", reason="zelf")
    assert own.status_code == 302
    refusal = pages.messages(helpdesk.page(detail).get_data(as_text=True))
    assert refusal and "tweede medewerker" in refusal[0]

    approved = beheerder.act(detail, f"{detail}/reset-goedkeuren", reason="Ticket 4711 akkoord")
    assert approved.status_code == 302
    assert "Goedgekeurd." in " ".join(
        pages.messages(beheerder.page(detail).get_data(as_text=True), "ok"))
    assert mailed_link(mailbox)  # the link went out now
