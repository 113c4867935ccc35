"""'Stuur mij een nieuwe link': an activation link that expired (or was replaced) offers a new one,
sent to the address on file, only while the account still waits to be activated. The old link
dies; the answer is the same for a link we do not know."""

import pytest
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.models import Account, Activation
from tests import pages
from tests.actors import Parent
from tests.test_activation import ACTIVATION_TTL, EXPIRED, UNKNOWN, USED

SENT = ("Hoort deze link bij een account dat nog niet is geactiveerd? Dan hebben wij een nieuwe "
        "link gestuurd naar het e-mailadres dat bij ons bekend is.")
BUTTON = "Stuur mij een nieuwe link"


@pytest.fixture
def parent(app, client, mailbox, make_org, invite, frozen_clock):
    """Yvonne, invited to PO2806; her link expired unused."""
    make_org()
    invite()
    parent = Parent(client, mailbox)
    parent.old_link = parent.activation_link()
    clock.advance(ACTIVATION_TTL + 1)
    return parent


def ask_new_link(browser, drop=(), ip="127.0.0.1"):
    """Press the button on the problem page that is open in this browser."""
    page = browser.get("/activeren", environ_base={"REMOTE_ADDR": ip})
    fields = pages.form_fields(page.get_data(as_text=True))
    response = browser.post("/activeren/nieuwe-link", environ_base={"REMOTE_ADDR": ip},
                            data={k: v for k, v in fields.items() if k not in drop})
    response.close()  # the answer is read: now the e-mail goes out
    return response


def test_an_expired_link_offers_a_new_one_that_works(app, parent, mailbox):
    problem = parent.open_activation(parent.old_link)
    html = problem.get_data(as_text=True)
    assert problem.status_code == 410 and pages.messages(html) == [EXPIRED]
    assert BUTTON in pages.text(html)
    response = ask_new_link(parent.browser)
    assert response.status_code == 200
    assert pages.messages(response.get_data(as_text=True), "ok") == [SENT]
    assert mailbox.count() == 2
    message = mailbox.last()
    assert message["To"] == "yvonne@example.org" and "Welkom, nieuwe gebruiker" in message["Subject"]
    new_link = parent.activation_link()
    assert new_link != parent.old_link
    parent.activate()
    assert parent.sign_in().status_code == 302


def test_the_replaced_link_stays_dead(app, parent, mailbox):
    parent.open_activation(parent.old_link)
    ask_new_link(parent.browser)
    new_link = parent.activation_link()
    parent.open_activation(parent.old_link)
    ask_new_link(parent.browser)  # asking again from the old link voids the second one too
    newest = parent.activation_link()
    assert len({parent.old_link, new_link, newest}) == 3
    for dead in (parent.old_link, new_link):
        assert parent.open_activation(dead).status_code == 410
    assert parent.open_activation(newest).status_code == 200
    with app.app_context():
        links = db.session.scalars(select(Activation).order_by(Activation.id)).all()
        assert [link.used_at is None for link in links] == [False, False, True]


def test_a_link_of_an_activated_account_offers_no_new_link(app, client, mailbox, make_org,
                                                           invite, frozen_clock):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    link = parent.activation_link()
    parent.activate()
    html = parent.open_activation(link).get_data(as_text=True)
    assert pages.messages(html) == [USED]
    assert BUTTON not in pages.text(html) and "Wachtwoord vergeten?" in pages.text(html)


def situation(case, app, client, mailbox, make_org, invite):
    """A browser on the problem page of ``case``; returns it and the e-mails sent so far."""
    make_org()
    invite()
    parent = Parent(client, mailbox)
    link = parent.activation_link()
    if case == "unknown link":
        link = link[:-4] + "AAAA"
    elif case == "activated account":
        parent.activate()
    else:
        clock.advance(ACTIVATION_TTL + 1)
    parent.open_activation(link)
    return client, mailbox.count()


CASES = {"expired, still pending": 1, "unknown link": 0, "activated account": 0}


@pytest.mark.parametrize("case", CASES)
def test_the_answer_is_the_same_whatever_the_link_was(app, client, mailbox, make_org, invite,
                                                      frozen_clock, case):
    browser, before = situation(case, app, client, mailbox, make_org, invite)
    page = browser.get("/activeren")  # the problem page again: the link left the address bar
    response = browser.post("/activeren/nieuwe-link",
                            data=pages.form_fields(page.get_data(as_text=True)))
    assert mailbox.count() == before  # nothing is sent while the answer is on its way
    html = response.get_data(as_text=True)
    response.close()
    assert (response.status_code, pages.messages(html, "ok")) == (200, [SENT])
    assert mailbox.count() == before + CASES[case]


def test_without_the_csrf_token_nothing_is_sent(parent, mailbox):
    parent.open_activation(parent.old_link)
    response = ask_new_link(parent.browser, drop=("csrf_token",))
    assert response.status_code == 400
    assert mailbox.count() == 1


def test_new_links_are_limited_per_account(app, parent, mailbox):
    parent.open_activation(parent.old_link)
    for _ in range(3):
        assert ask_new_link(parent.browser).status_code == 200
    assert mailbox.count() == 4
    response = ask_new_link(parent.browser)  # the fourth within the hour: same answer, no e-mail
    assert response.status_code == 200
    assert pages.messages(response.get_data(as_text=True), "ok") == [SENT]
    assert mailbox.count() == 4
    clock.advance(2 * 3600)
    ask_new_link(parent.browser)
    assert mailbox.count() == 5


def test_new_links_are_limited_per_ip(app, parent, mailbox):
    app.config["IDP_SELFSERVICE_ACCOUNT_REQUESTS"] = 100
    parent.open_activation(parent.old_link)
    for _ in range(10):
        assert ask_new_link(parent.browser, ip="192.0.2.7").status_code == 200
    refused = ask_new_link(parent.browser, ip="192.0.2.7")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "te vaak om een e-mail gevraagd" in pages.text(refused.get_data(as_text=True))
    assert ask_new_link(parent.browser, ip="192.0.2.8").status_code == 200


def test_problem_pages_for_unknown_links_offer_a_new_link_too(client, make_org):
    make_org()
    page = client.get("/activeren/" + "A" * 43)
    page = client.get(page.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and pages.messages(html) == [UNKNOWN]
    assert BUTTON in pages.text(html)


def test_the_account_stays_pending_until_the_new_link_is_used(app, parent, mailbox):
    parent.open_activation(parent.old_link)
    ask_new_link(parent.browser)
    with app.app_context():
        account = db.session.scalar(select(Account))
        assert account.status == "invited" and account.password_hash is None
