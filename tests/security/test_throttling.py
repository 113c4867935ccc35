"""Threat: guessing passwords and codes — one account (brute force), many accounts from one
place (spraying), many places at one organisation. Per-account delays and locks, per-IP and
per-organisation windows, e-mails, the helpdesk's unlock, and parallel bursts."""

import threading

import pytest
from sqlalchemy import select

from idp import clock, throttle
from idp.auth import passwords
from idp.extensions import db, store
from idp.models import Account, AuditEvent
from tests import pages
from tests.actors import PASSWORD, Parent, authenticator_code
from tests.test_sign_in import WRONG

WRONG_PASSWORD = "fietsen langs de rijn 2026"


def attempt(parent, password=WRONG_PASSWORD, ip="192.0.2.10", **changes):
    """One sign-in from ``ip`` with the code the app shows now."""
    page = parent.browser.get("/inloggen", environ_base={"REMOTE_ADDR": ip})
    fields = pages.form_fields(page.get_data(as_text=True))
    fields.update(organisation=parent.org, username=parent.username, password=password,
                  code=authenticator_code(parent.secret))
    fields.update(changes)
    return parent.browser.post("/inloggen", data=fields, environ_base={"REMOTE_ADDR": ip})


def refused_like_a_wrong_password(response) -> bool:
    return response.status_code == 400 and pages.messages(response.get_data(as_text=True)) == [WRONG]


def lock_mails(mailbox) -> list:
    return [m for m in mailbox.messages() if "geblokkeerd" in m["Subject"]]


def test_five_failures_cost_nothing_then_attempts_must_wait(parent):
    for _ in range(5):
        assert refused_like_a_wrong_password(attempt(parent))
    # The right password at once is refused like a wrong one, and not even checked.
    assert refused_like_a_wrong_password(attempt(parent, PASSWORD))
    clock.advance(5)  # the first wait (5 s) has passed
    assert attempt(parent, PASSWORD).status_code == 302


def test_waits_grow_after_each_failure(parent):
    for _ in range(5):
        attempt(parent)
    clock.advance(5)
    assert refused_like_a_wrong_password(attempt(parent))  # failure 6, checked after 5 s
    clock.advance(9)
    assert refused_like_a_wrong_password(attempt(parent, PASSWORD))  # 10 s not yet passed
    clock.advance(1)
    assert attempt(parent, PASSWORD).status_code == 302


def test_ten_failures_lock_the_account_for_fifteen_minutes_and_email_the_parent(parent, mailbox):
    for _ in range(10):
        assert refused_like_a_wrong_password(attempt(parent))
        clock.advance(90)  # past every growing wait
    [mail] = lock_mails(mailbox)
    body = mail.get_body(("plain",)).get_content()
    assert "10 keer achter elkaar" in body and "15 minuten geblokkeerd" in body
    assert refused_like_a_wrong_password(attempt(parent, PASSWORD))  # locked: same page
    clock.advance(15 * 60)
    assert attempt(parent, PASSWORD).status_code == 302
    assert len(lock_mails(mailbox)) == 1
    # A success starts the count again: five free failures.
    parent.log_out()
    for _ in range(5):
        attempt(parent)
    clock.advance(30)  # and a new code (the last one was used)
    assert attempt(parent, PASSWORD).status_code == 302


def test_a_success_clears_a_wait_that_outlived_its_failure_count(app, parent):
    """The count expires 30 days after the first failure, a wait up to 16 minutes after the
    last: a sign-in that finds only a wait clears it too (the console shows it until then)."""
    for _ in range(5):
        attempt(parent)
    with app.app_context():
        store().delete(throttle._account_key(parent.org, parent.username) + ":failures")
        failures, until = throttle.account_state(parent.org, parent.username)
        assert failures == 0 and until is not None
    assert attempt(parent, PASSWORD).status_code == 302
    with app.app_context():
        assert throttle.account_state(parent.org, parent.username) == (0, None)


def test_a_right_password_with_a_wrong_code_is_a_failure(parent, mailbox):
    for _ in range(10):
        assert refused_like_a_wrong_password(attempt(parent, PASSWORD, code="000000"))
        clock.advance(90)
    assert len(lock_mails(mailbox)) == 1
    assert refused_like_a_wrong_password(attempt(parent, PASSWORD))


def test_after_a_hundred_failures_only_the_helpdesk_unlocks(app, parent, mailbox, runner):
    app.config.update(IDP_LOCKOUT_PERMANENT_AFTER=12)  # the rule, not a hundred round trips
    for _ in range(12):
        assert refused_like_a_wrong_password(attempt(parent))
        clock.advance(16 * 60)
    permanent = lock_mails(mailbox)[-1].get_body(("plain",)).get_content()
    assert "pas weer inloggen als de helpdesk" in permanent
    clock.advance(7 * 24 * 3600)
    assert refused_like_a_wrong_password(attempt(parent, PASSWORD))  # a week later: still

    result = runner.invoke(args=["parent", "unlock", "--org", "PO2806", "Yvonne.testouder",
                                 "--actor", "helpdesk Anna", "--reason", "ticket 42"])
    assert result.exit_code == 0 and "Unlocked Yvonne.testouder (PO2806)." in result.output
    assert attempt(parent, PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Account.locked_at)) is None
        account = db.session.scalar(select(Account))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.unlock"))
        # Named by subject, in its organisation: no username or e-mail in the audit log.
        assert (event.actor, event.target, event.organisation_id) == (
            "helpdesk Anna", account.subject, account.organisation_id)


def test_the_default_limit_is_nists(app):
    assert app.config["IDP_LOCKOUT_PERMANENT_AFTER"] <= 100


def test_an_unknown_username_behaves_like_a_known_one(parent, mailbox):
    def journey(username):
        answers = []
        for _ in range(11):
            response = attempt(parent, username=username)
            answers.append((response.status_code, pages.messages(response.get_data(as_text=True))))
            clock.advance(90)
        return answers

    known, unknown = journey("Yvonne.testouder"), journey("Niemand.bekend")
    assert known == unknown
    assert len(lock_mails(mailbox)) == 1  # only the real parent is told


# --- per client IP and per organisation ----------------------------------------------------------
@pytest.fixture
def hashes(monkeypatch):
    """How many password verifications the service did."""
    calls = []
    original = passwords.verify_password

    def counting(stored_hash, password):
        calls.append(1)
        return original(stored_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return calls


def test_spraying_from_one_ip_gets_429_without_hashing(app, parent, hashes):
    app.config.update(IDP_THROTTLE_IP_FAILURES=8)
    for number in range(8):  # one password tried on many usernames
        assert refused_like_a_wrong_password(attempt(parent, username=f"Ouder.{number}"))
    done = len(hashes)
    throttled = attempt(parent, PASSWORD)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) <= 600
    assert "te vaak verkeerd ingelogd" in pages.text(throttled.get_data(as_text=True))
    assert len(hashes) == done  # no hash for a throttled request
    assert attempt(parent, PASSWORD, ip="198.51.100.7").status_code == 302  # another IP is fine
    clock.advance(1200)  # the window has slid past (and the code changed)
    assert attempt(parent, PASSWORD).status_code == 302


def test_spraying_one_organisation_from_many_ips_gets_429(app, parent, make_org, invite, mailbox):
    app.config.update(IDP_THROTTLE_ORG_FAILURES=6)
    for number in range(6):
        attempt(parent, username=f"Ouder.{number}", ip=f"203.0.113.{number}")
    assert attempt(parent, PASSWORD, ip="203.0.113.99").status_code == 429
    make_org(code="PO2807", name="PPO Elders")
    invite(org_code="PO2807", username="Anna.elders", email="anna@example.org")
    other = Parent(parent.browser, mailbox, username="Anna.elders", org="PO2807")
    other.activate()
    assert attempt(other, PASSWORD, ip="203.0.113.99").status_code == 302  # other organisation


def test_forwarded_for_is_only_believed_behind_a_configured_proxy(app, parent):
    app.config.update(IDP_THROTTLE_IP_FAILURES=3)
    for number in range(3):
        # A client cannot dodge the limit by making up X-Forwarded-For (IDP_PROXY_HOPS=0).
        parent.browser.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.0.0.{number}"
        attempt(parent, username=f"Ouder.{number}")
    assert attempt(parent, PASSWORD).status_code == 429
    parent.browser.environ_base.pop("HTTP_X_FORWARDED_FOR")


# --- parallel bursts -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_burst_of_fifty_parallel_wrong_attempts_is_counted_fifty_times(app, parent, mailbox):
    from idp import throttle

    page = parent.browser.get("/inloggen")
    fields = pages.form_fields(page.get_data(as_text=True))
    fields.update(organisation="PO2806", username="Yvonne.testouder", password=WRONG_PASSWORD,
                  code="123456")
    barrier = threading.Barrier(50)
    statuses = []

    def one(number):
        browser = app.test_client()
        browser.set_cookie("idp", parent.browser.get_cookie("idp", domain="idp.test").value,
                           domain="idp.test")
        barrier.wait()
        statuses.append(browser.post("/inloggen", data=fields,
                                     environ_base={"REMOTE_ADDR": f"192.0.2.{number}"}).status_code)

    threads = [threading.Thread(target=one, args=(number,)) for number in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [400] * 50
    with app.test_request_context():  # from fifty places at once: every attempt counted
        assert throttle._window_count("org:PO2806") == 50
        assert [throttle._window_count(throttle._ip_name(f"192.0.2.{n}")) for n in range(50)] == [1] * 50
    # The account is now waiting or locked: even the right password is refused.
    assert refused_like_a_wrong_password(attempt(parent, PASSWORD, ip="198.51.100.1"))
