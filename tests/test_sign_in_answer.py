"""The sign-in POST that answers a relying party's waiting request stores what the sign-in
changed in one go with the code (one commit): the code's TOTP step and the sign-in time are
kept also when no code is issued, and a code that answered a relying party signs in once."""

from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.console import service
from idp.models import Account, Client
from tests import pages
from tests.actors import Parent, authenticator_code
from tests.test_oidc_flow import sign_in_at
from tests.test_sign_in import WRONG, is_signed_in


def fresh_browser(app, parent) -> Parent:
    other = Parent(app.test_client(), parent.mailbox)
    other.secret = parent.secret
    return other


def last_sign_in_at(app) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Account.last_sign_in_at))


def test_a_code_that_answered_a_relying_party_signs_in_once(app, world):
    parent, rp = world
    code = authenticator_code(parent.secret)
    clock.advance(1)
    assert "code" in sign_in_at(rp, parent)
    assert last_sign_in_at(app) == clock.timestamp()

    other = fresh_browser(app, parent)  # e.g. someone who saw the code over the parent's shoulder
    replay = other.sign_in(page=other.browser.get(rp.authorization_url()), code=code)
    assert replay.status_code == 400
    assert pages.messages(replay.get_data(as_text=True)) == [WRONG]
    assert not is_signed_in(other.browser)


def test_a_code_that_got_no_answer_for_a_refused_client_signs_in_once(app, world):
    parent, rp = world
    page = parent.browser.get(rp.authorization_url())
    with app.app_context():  # by the service's staff, as in the console
        client = db.session.scalar(select(Client).where(Client.client_id == rp.client_id))
        service.set_disabled("tests", client, True)
    code = authenticator_code(parent.secret)
    clock.advance(1)
    assert parent.sign_in(page=page, code=code).status_code == 400  # our error page, signed in
    assert last_sign_in_at(app) == clock.timestamp()

    other = fresh_browser(app, parent)
    replay = other.sign_in(code=code)
    assert replay.status_code == 400
    assert pages.messages(replay.get_data(as_text=True)) == [WRONG]
