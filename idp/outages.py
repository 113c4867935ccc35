"""What an outage of a backing service looks like: the errors that mean "Redis is down" or "the
database is down", and a log-safe description of one.

The web answers them with a 503 (``idp.web.errors``), the worker skips its round
(``idp.worker``), ``/readyz`` says not ready. None of them is ever caught to carry on without
the service: a check that needs it fails (closed).
"""

from sqlalchemy import exc as sa

from idp.store import OUTAGE_ERRORS

#: Redis could not be reached (see ``idp.store``).
STORE_DOWN = OUTAGE_ERRORS
#: The database could not be reached, or dropped the connection mid-transaction (a restart, a
#: failover, a terminated backend); also a pool that has no connection left to give.
DATABASE_DOWN = (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError)


def describe(error: BaseException) -> str:
    """The kind of failure and the driver's first line about it, for the log. Never the SQL or
    its parameters (a SQLAlchemy error's text holds both, and parameters can be token hashes)."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first_line}"
