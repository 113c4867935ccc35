"""The token endpoint does each piece of work once: one ID token signed per response, and a
bounded number of SQL statements per grant. Counted, never timed (timing is bench/run's job)."""

import pytest
from sqlalchemy import event

from idp.extensions import db
from idp.oauth import records
from idp.oauth.grants import OpenIDCode, OpenIDRefresh
from idp.sessions import signin
from tests.test_oidc_flow import sign_in_at

# The code grant: the code (with its grant and parent, one statement), consume it, record the
# refresh token (access tokens are not stored). The refresh grant: the same with the refresh
# token. The client comes from the cache.
MOST_STATEMENTS = 3


@pytest.fixture
def statements(app, monkeypatch):
    """Every statement: through SQLAlchemy, and the hot ones on the driver's cursor (records)."""
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.split(None, 1)[0])

    def execute(statement, params, _original=records._execute):
        seen.append(str(statement).split(None, 1)[0])
        return _original(statement, params)

    monkeypatch.setattr(records, "_execute", execute)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_each_grant_signs_one_id_token_with_few_statements(world, statements, monkeypatch):
    parent, rp = world
    signed = []
    for grant in (OpenIDCode, OpenIDRefresh):
        original = grant.encode_id_token
        monkeypatch.setattr(grant, "encode_id_token",
                            lambda self, *a, _original=original, **k: signed.append(1) or _original(self, *a, **k))
    code = sign_in_at(rp, parent)["code"]
    rp.revoke("warm-the-client-cache")
    rp.jwks()  # and the key cache: its reload every IDP_KEYS_CACHE_TTL is not per grant

    statements.clear()
    first = rp.exchange(code)
    assert first.status_code == 200 and len(signed) == 1
    assert len(statements) <= MOST_STATEMENTS, statements

    statements.clear()
    second = rp.refresh(first.get_json()["refresh_token"])
    assert second.status_code == 200 and len(signed) == 2
    assert len(statements) <= MOST_STATEMENTS, statements


class CountingStore:
    """The app's store, noting each call about a sign-in session (its ``signin:`` record)."""

    def __init__(self, store):
        self.store, self.calls = store, []

    def __getattr__(self, name):
        method = getattr(self.store, name)
        if not callable(method):
            return method

        def counted(*args, **kwargs):
            if args and isinstance(args[0], str) and args[0].startswith(signin.KEY):
                self.calls.append(name)
            return method(*args, **kwargs)

        return counted


def test_each_grant_asks_the_store_about_the_session_once(app, world):
    """The code exchange reads the session (is it live?); a refresh of a session-bound grant
    also marks it used, in the same one call (one round trip to Redis)."""
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    real = app.extensions["idp.store"]
    app.extensions["idp.store"] = counting = CountingStore(real)
    try:
        first = rp.exchange(code)
        assert first.status_code == 200
        assert counting.calls == ["get"]
        counting.calls.clear()
        assert rp.refresh(first.get_json()["refresh_token"]).status_code == 200
        assert counting.calls == ["touch_session"]
    finally:
        app.extensions["idp.store"] = real
