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
"""

import select

from sqlalchemy import event, exc


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
