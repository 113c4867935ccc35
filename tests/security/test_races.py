"""Threat: the same one-time thing used twice at the same moment. One TOTP code typed in
several browsers at once signs in exactly once, every time, on PostgreSQL. (Codes, refresh
tokens and activation links race in tests/test_oidc_errors.py and tests/test_activation.py.)"""

import threading

import pytest

from tests import pages
from tests.actors import PASSWORD, Parent, authenticator_code


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
