"""Hand-written SQL on the DB-API cursor of the SQLAlchemy session's own connection, for the
hottest paths (the token endpoints' records in idp.oauth.records, the sign-in page and its POST).

The statements belong to the request's one transaction and commit. They skip SQLAlchemy's
execution context, result metadata and row processing, which cost those paths more than psycopg
itself (a list of organisations: ~150 µs through the session, ~30 µs here); psycopg prepares
them on the server after a few uses. Driver errors are raised as SQLAlchemy's, as from any
query, so an outage is handled the same (idp.outages). Everything else uses the ORM models.
"""

import re

from flask import g
from sqlalchemy import exc

from idp.extensions import db


class Statement:
    """One SQL statement in the two parameter styles of our drivers: ``:name`` (sqlite3, and
    ``str()`` for tools) and ``%(name)s`` (psycopg)."""

    __slots__ = ("sql", "pyformat")

    def __init__(self, sql: str):
        self.sql = sql
        self.pyformat = re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", sql)

    def __str__(self) -> str:
        return self.sql


#: ``g`` key of the connection of the request's current transaction (``_connection``).
_KEPT_CONNECTION = "statements_connection"


def _connection():
    """The session's connection, in its transaction. Kept in ``g`` for as long as that
    transaction lasts: asking the session each time costs more than a statement's own Python
    (a commit or rollback starts a new transaction, and so a new connection is asked for)."""
    session = db.session()
    transaction = session.get_transaction()
    kept = g.get(_KEPT_CONNECTION)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return kept[1]
    connection = session.connection()
    setattr(g, _KEPT_CONNECTION, (session.get_transaction(), connection))
    return connection


def execute(statement: Statement, params: dict):
    """Run ``statement`` on the session's connection, in its transaction; the DB-API cursor."""
    connection = _connection()
    dialect = connection.dialect
    sql = statement.pyformat if dialect.paramstyle == "pyformat" else statement.sql
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy does for its own statements: a lost connection leaves the pool, and
        # the error is SQLAlchemy's (OperationalError, ...), which idp.outages recognises.
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(statement.sql, params, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=dialect) from error
    return cursor
