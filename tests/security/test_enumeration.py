"""Threat: finding out which usernames exist, are activated or are locked. Every failed sign-in
looks the same (status, page, message), does the same work (one password hash) and takes the
same time within noise."""

import re
import statistics
import time

import pytest
from sqlalchemy import update

from idp import clock
from idp.auth import passwords
from idp.extensions import db
from idp.models import Account
from tests import pages
from tests.actors import PASSWORD, Parent, authenticator_code
from tests.test_sign_in import WRONG

CASES = ("unknown username", "wrong password", "wrong code", "locked account", "not activated")


@pytest.fixture
def accounts(app, client, mailbox, make_org, invite, frozen_clock):
    """One account per case, so no case's failures throttle another's."""
    make_org()
    parents = {}
    for case, username in (("wrong password", "Anna.een"), ("wrong code", "Bram.twee"),
                           ("locked account", "Cor.drie")):
        invite(username=username, email=f"{username}@example.org")
        parents[case] = Parent(client, mailbox, username=username)
        parents[case].activate()
    invite(username="Dirk.nogniet", email="dirk@example.org")
    with app.app_context():
        db.session.execute(update(Account).where(Account.username == "Cor.drie")
                           .values(locked_at=clock.timestamp()))
        db.session.commit()
    return parents


def details(case, parents, round_number=0):
    """Organisation, username, password and code for one failed attempt of ``case``."""
    anna = parents["wrong password"]
    username = {"unknown username": f"Niemand.{round_number}", "wrong password": "Anna.een",
                "wrong code": "Bram.twee", "locked account": "Cor.drie",
                "not activated": "Dirk.nogniet"}[case]
    password = "fietsen langs de rijn 2026" if case == "wrong password" else PASSWORD
    code = authenticator_code(anna.secret)
    if case == "wrong code":
        right = authenticator_code(parents["wrong code"].secret)
        code = right[:-1] + str((int(right[-1]) + 1) % 10)
    return {"organisation": "PO2806", "username": username, "password": password, "code": code}


def sign_in(client, fields):
    page = client.get("/inloggen")
    form = pages.form_fields(page.get_data(as_text=True))
    form.update(fields)
    return client.post("/inloggen", data=form)


def normalised(html: str) -> str:
    """The page without what differs by design: the CSRF token and the typed username."""
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", html)
    return re.sub(r'name="username"[^>]*value="[^"]*"', 'name="username"', html)


def test_every_failure_answers_the_same(app, client, accounts):
    answers = {}
    for case in CASES:
        response = sign_in(client, details(case, accounts))
        html = response.get_data(as_text=True)
        answers[case] = (response.status_code, pages.messages(html), normalised(html))
    assert {case: answer[:2] for case, answer in answers.items()} == {
        case: (400, [WRONG]) for case in CASES}
    assert len({answer[2] for answer in answers.values()}) == 1  # byte for byte the same page


def test_every_failure_costs_one_password_hash(client, accounts, monkeypatch):
    calls = []
    original = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password",
                        lambda stored, password: calls.append(stored is None) or original(stored, password))
    for case in CASES:
        calls.clear()
        sign_in(client, details(case, accounts))
        assert len(calls) == 1, case


@pytest.mark.parametrize("backend", ["postgres"])
def test_every_failure_takes_the_same_time(app, client, accounts):
    """With production argon2id parameters, the five cases cost the same time: the median CPU
    time the request takes in this thread (the test client runs the app in it) is within 30 %
    for every case (measured: within 10 % at a load average of 12). A second hash for unknown
    usernames and locked accounts, as unknown usernames once cost, makes theirs 1.6 times the
    others'; skipping the hash makes it a fraction.

    CPU time of the answering thread, not wall-clock time: on a busy machine (other tests,
    other workers) a wall-clock sample mostly measures the waits for a core, which made this
    test fail where nothing differed. The cases are interleaved, and medians leave out the
    samples a cache flush or a page fault slowed down."""
    app.config.update(IDP_ARGON2_TIME_COST=2, IDP_ARGON2_MEMORY_KIB=19 * 1024,
                      IDP_LOCKOUT_DELAY_AFTER=1000, IDP_LOCKOUT_AFTER=1000,
                      IDP_LOCKOUT_PERMANENT_AFTER=1000, IDP_THROTTLE_IP_FAILURES=1000)
    app.extensions.pop("idp.password_hasher", None)
    app.extensions.pop("idp.dummy_hash", None)
    for parent in accounts.values():  # give every account a production-cost hash
        with app.app_context():
            account = db.session.query(Account).filter_by(username=parent.username).one()
            account.password_hash = passwords.hash_password(PASSWORD)
            db.session.commit()
    cpu = {case: [] for case in CASES}
    sign_in(client, details("unknown username", accounts))  # warm up: the dummy hash is made
    for round_number in range(16):
        for case in CASES:
            fields = details(case, accounts, round_number)
            started = time.thread_time()
            response = sign_in(client, fields)
            cpu[case].append(time.thread_time() - started)
            assert response.status_code == 400
    typical = {case: statistics.median(values) for case, values in cpu.items()}
    assert max(typical.values()) <= 1.3 * min(typical.values()), typical
