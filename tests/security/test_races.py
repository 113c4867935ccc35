"""Threat: the same one-time thing used twice at the same moment. One TOTP code typed in
several browsers at once signs in exactly once, every time, on PostgreSQL. (Codes, refresh
tokens and activation links race in tests/test_oidc_errors.py and tests/test_activation.py.)"""

import threading

import pytest
from sqlalchemy import select

from tests import pages
from tests.actors import PASSWORD, Parent, authenticator_code
from tests.test_account_links import code_added_later  # noqa: F401 (a fixture)


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("round_number", range(3))
def test_one_totp_code_signs_in_exactly_once_however_many_race(
        app, client, mailbox, make_org, invite, frozen_clock, round_number):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    parent.activate()
    code = authenticator_code(parent.secret)
    browsers = [app.test_client() for _ in range(6)]
    forms = []
    for browser in browsers:  # each browser has its own page and CSRF token
        fields = pages.form_fields(browser.get("/inloggen").get_data(as_text=True))
        fields.update(organisation="PO2806", username="Yvonne.testouder", password=PASSWORD,
                      code=code)
        forms.append(fields)
    barrier = threading.Barrier(len(browsers))
    statuses = []

    def sign_in(browser, fields):
        barrier.wait()
        statuses.append(browser.post("/inloggen", data=fields).status_code)

    threads = [threading.Thread(target=sign_in, args=pair) for pair in zip(browsers, forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] + [400] * 5


# --- e-mailed links and linking an app at sign-in (idp.accounts) --------------------------------
def at_once(posts, monkeypatch, module, name):
    """Send ``posts`` (callables) together; ``module.name`` (a check each request makes) waits
    until every request made it, so all are past their checks before any saves: the race is
    then decided by the database, every run."""
    started = threading.Barrier(len(posts))
    all_checked = threading.Barrier(len(posts), timeout=10)
    check = getattr(module, name)

    def check_then_wait(*args, **kwargs):
        result = check(*args, **kwargs)
        all_checked.wait()
        return result

    monkeypatch.setattr(module, name, check_then_wait)
    responses = [None] * len(posts)

    def send(i):
        started.wait()
        responses[i] = posts[i]()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    monkeypatch.undo()
    return responses


def loser(responses, status):
    statuses = sorted(r.status_code for r in responses)
    assert statuses == sorted([302, status]), statuses
    return next(r for r in responses if r.status_code == status)


def test_two_windows_linking_an_app_at_sign_in_link_one_and_the_other_is_told(
        app, code_added_later, monkeypatch):
    from types import SimpleNamespace

    from idp import clock, crypto
    from idp.auth import totp
    from idp.extensions import db
    from idp.models import Account
    from tests.test_account_links import sign_in_without_code

    parent = code_added_later
    posts, secrets = [], []
    for browser in (parent.browser, app.test_client()):
        window = SimpleNamespace(browser=browser, username=parent.username)
        page = browser.get(sign_in_without_code(window).headers["Location"])
        html = page.get_data(as_text=True)
        secret = parent.scan_key(html)
        fields = pages.form_fields(html)
        fields["code"] = authenticator_code(secret)
        secrets.append(secret)
        posts.append(lambda b=browser, f=fields: b.post("/inloggen/app-koppelen", data=f))
    responses = at_once(posts, monkeypatch, totp, "matching_step")
    lost = loser(responses, 409)
    assert pages.messages(lost.get_data(as_text=True)) == [
        "In een ander venster is net al een app aan uw account gekoppeld. Deze app is dus niet "
        "gekoppeld. Log in met de code uit de app die u in dat andere venster heeft gekoppeld. "
        "Heeft u die app niet, neem dan contact op met PPO Rotterdam."]
    winner = secrets[[r.status_code for r in responses].index(302)]
    with app.app_context():
        stored = db.session.scalar(select(Account.totp_secret_encrypted))
        assert crypto.same(totp.decrypt_secret(stored), winner)
    parent.secret = winner
    clock.advance(30)
    assert parent.sign_in(password="fietsen langs de maas tot aan de zee").status_code == 302


@pytest.mark.parametrize("purpose", ["new-app", "reset"])
def test_two_windows_using_one_emailed_link_use_it_once(app, parent, mailbox, monkeypatch,
                                                        purpose):
    from idp.auth import password_policy, totp
    from idp.extensions import db
    from idp.models import AuditEvent
    from tests import test_account_links as links_test

    new = links_test.NEW_PASSWORD
    links_test.helpdesk(app, "reset_authenticator" if purpose == "new-app"
                        else "send_password_reset")
    link = links_test.mailed_link(mailbox)
    posts = []
    for browser in (parent.browser, app.test_client()):
        page = links_test.follow(browser, link)
        if purpose == "new-app":
            verified = links_test.submit(browser, page, "/nieuwe-app", password=PASSWORD)
            page = browser.get(verified.headers["Location"])
            fields = pages.form_fields(page.get_data(as_text=True))
            fields["code"] = authenticator_code(parent.scan_key(page.get_data(as_text=True)))
            posts.append(lambda b=browser, f=fields: b.post("/nieuwe-app", data=f))
        else:
            fields = pages.form_fields(page.get_data(as_text=True))
            fields.update(password=new, password_again=new,
                          code=authenticator_code(parent.secret))
            posts.append(lambda b=browser, f=fields: b.post("/herstellen", data=f))
    module, name = (totp, "matching_step") if purpose == "new-app" else (password_policy,
                                                                           "problem")
    lost = loser(at_once(posts, monkeypatch, module, name), 410)
    assert pages.messages(lost.get_data(as_text=True)) == [links_test.USED]
    action = "account.authenticator_linked" if purpose == "new-app" else "account.password_reset"
    with app.app_context():
        assert len(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == action)).all()) == 1
