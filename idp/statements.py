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
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict

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
        # As SQLAlchemy does for its own statements: a lost connection leaves the pool.
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise _as_sqlalchemys(error, dialect, statement, params, lost) from error
    return cursor


def _as_sqlalchemys(error, dialect, statement=None, params=None, lost=False):
    """A driver error as SQLAlchemy raises it for its own statements (OperationalError, ...),
    which idp.outages recognises."""
    return exc.DBAPIError.instance(statement and statement.sql, params, error,
                                   dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                   dialect=dialect)


def read_alone(statement: Statement, params: dict) -> list[tuple]:
    """The rows of a read that is all a request reads (the sign-in page's organisations), as
    one autocommit statement on a pooled PostgreSQL connection: no BEGIN and no ROLLBACK round
    trip, and no session transaction to open and close. Within a transaction already, or on
    SQLite (which begins none for a read), it is ``execute``'s. The connection goes back to
    the pool as it came (autocommit off), or is thrown away."""
    if db.session().get_transaction() is not None:
        return execute(statement, params).fetchall()
    engine = db.engine
    dialect = engine.dialect
    if dialect.paramstyle != "pyformat":  # SQLite
        return execute(statement, params).fetchall()
    try:
        pooled = engine.raw_connection()
    except dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemys(error, dialect) from error
    try:
        driver = pooled.driver_connection
        driver.autocommit = True
        try:
            cursor = driver.cursor()
            cursor.execute(statement.pyformat, params)
            rows = cursor.fetchall()
        finally:
            driver.autocommit = False  # raises on a broken connection: then invalidated
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, pooled.dbapi_connection, None)
        pooled.invalidate(error)  # never back to the pool in doubt (autocommit on)
        raise _as_sqlalchemys(error, dialect, statement, params, lost) from error
    except BaseException:
        pooled.invalidate()
        raise
    finally:
        pooled.close()
    return rows


class LoadStatement:
    """A ``SELECT`` of every column of ``model``'s table on the driver, whose row becomes the
    model's object in the request's session as if the ORM had loaded it (persistent, nothing
    changed): what the request changes of it is flushed at the commit, and a commit or rollback
    expires it like any loaded object; relationships load when asked for. The ORM's own load
    of the account as typed was ~15 % of the sign-in POST's Python calls. Only for models whose
    columns the driver returns as the ORM holds them (integers, strings, bytes: no type
    processing; tests/test_statements.py compares them)."""

    __slots__ = ("model", "keys", "statement", "primary_key_at")

    def __init__(self, model, where: str):
        mapper = model.__mapper__
        columns = [prop.columns[0] for prop in mapper.column_attrs]
        self.model = model
        self.keys = mapper.column_attrs.keys()
        self.statement = Statement(f"SELECT {', '.join(column.name for column in columns)} "
                                   f"FROM {model.__table__.name} WHERE {where}")
        self.primary_key_at = [columns.index(column) for column in mapper.primary_key]

    def one(self, params: dict):
        """The object of the one row found, or None."""
        row = execute(self.statement, params).fetchone()
        if row is None:
            return None
        session = db.session()
        key = self.model.__mapper__.identity_key_from_primary_key(
            [row[at] for at in self.primary_key_at])
        existing = session.identity_map.get(key)
        if existing is not None:  # the ORM's query too gives the session's own object
            return existing
        instance = self.model.__mapper__.class_manager.new_instance()
        instance_dict(instance).update(zip(self.keys, row))
        make_transient_to_detached(instance)  # its values are what the row holds
        session.add(instance)  # detached -> persistent, no SQL
        return instance
