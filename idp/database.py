"""The database's pooled connections: one that the server closed is replaced at checkout,
without a round trip.

A restart, a failover or a terminated backend closes the server's end of every idle pooled
connection; the next request would fail on it (a 503). SQLAlchemy's ``pool_pre_ping`` prevents
that with a ``SELECT 1`` on every checkout, a round trip per request. The same news is in the
socket already: PostgreSQL never sends anything to an idle client of ours (no LISTEN), except
the error it sends before it closes the connection, and the close itself. So a pooled
connection whose socket has anything to read, or that psycopg knows to be broken, is thrown
away at checkout and a new one is made (SQLAlchemy's ``DisconnectionError`` on checkout).

What neither this nor a ping can see early is a server that vanished without closing anything
(a host gone, a silent network): a ping waits as long as the first statement would.

Every connection also carries a statement timeout (``IDP_DATABASE_STATEMENT_TIMEOUT``): a
statement stuck in PostgreSQL, most often waiting for a lock, is cancelled by the server and the
request ends as a 503 (psycopg's ``QueryCanceled`` is an ``OperationalError``), instead of
holding its thread for as long as the lock is held. granian has no worker timeout to end it.
"""

import select

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url


def engine_options(url: str, statement_timeout: int) -> dict:
    """SQLAlchemy's engine options for ``url``: on PostgreSQL, the statement timeout (seconds,
    0: none) in the connection's start-up options, which costs no round trip. Options the URL
    gives itself (``?options=-c ...``) come after ours, so a statement timeout there still wins."""
    if statement_timeout < 0:
        raise ValueError("IDP_DATABASE_STATEMENT_TIMEOUT must be 0 (none) or more seconds, "
                         f"got {statement_timeout}")
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not statement_timeout:
        return {}
    options = f"-c statement_timeout={statement_timeout * 1000}"
    given = parsed.query.get("options")
    if given:  # connect_args would replace the URL's options rather than add to them
        options = " ".join([options, *([given] if isinstance(given, str) else given)])
    return {"connect_args": {"options": options}}


def _has_gone(dbapi_connection) -> bool:
    """The connection is closed, broken, or its socket has something to read while idle."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _check_out(dbapi_connection, connection_record, connection_proxy) -> None:
    if _has_gone(dbapi_connection):
        raise exc.DisconnectionError("the server closed the pooled connection")


def init_app(app, db) -> None:
    """Check PostgreSQL connections at checkout (SQLite's are files: nothing to lose)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        event.listen(engine.pool, "checkout", _check_out)
