"""idp.statements' LoadStatement: a row read on the driver becomes the same persistent object
the ORM's own query gives (the sign-in POST reads the account as typed this way)."""

from sqlalchemy import inspect, select, update

from idp.extensions import db
from idp.flows.login import ACCOUNT_AS_TYPED
from idp.models import Account, Organisation


def _as_typed(org):
    return ACCOUNT_AS_TYPED.one({"organisation_id": org.id, "username": "Yvonne.testouder"})


def test_the_account_as_typed_is_the_account_the_orm_loads(app, parent):
    with app.test_request_context():
        org = db.session.scalar(select(Organisation))
        account = _as_typed(org)
        assert inspect(account).persistent and not db.session.dirty
        columns = Account.__mapper__.column_attrs.keys()
        ours = {key: getattr(account, key) for key in columns}
        assert account.totp_secret_encrypted and isinstance(account.totp_secret_encrypted, bytes)
        assert account.organisation.code == "PO2806"  # its relationship loads when asked
        db.session.expunge_all()
        orm = db.session.scalar(select(Account).where(Account.id == account.id))
        assert ours == {key: getattr(orm, key) for key in columns}
        assert {key: type(value) for key, value in ours.items()} == {
            key: type(getattr(orm, key)) for key in columns}
        assert _as_typed(org) is orm  # the session's own object, as the ORM's query gives
        assert _as_typed(Organisation(id=org.id + 1)) is None


def test_a_change_to_the_account_as_typed_is_stored_at_the_commit(app, parent):
    with app.test_request_context():
        org = db.session.scalar(select(Organisation))
        account = _as_typed(org)
        account.name = "Yvonne Anders"
        db.session.commit()
        assert account.name == "Yvonne Anders"  # expired by the commit, read again
        db.session.remove()
        assert db.session.scalar(select(Account.name)) == "Yvonne Anders"


def test_the_sign_in_page_leaves_its_connection_as_it_found_it(app, client, make_org):
    """The page reads its organisations as one autocommit statement (read_alone): what comes
    after it on that pooled connection is a transaction again, rolled back as a whole."""
    make_org()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # one pooled connection from here: the page's, then the next
    assert client.get("/inloggen").status_code == 200
    with app.app_context():
        db.session.execute(update(Organisation).values(name="Niet bewaard"))
        db.session.rollback()
        assert db.session.scalar(select(Organisation.name)) == "PPO Rotterdam"
