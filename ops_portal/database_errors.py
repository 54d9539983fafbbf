"""Classify database errors: those a new try can get past, and errors in the query itself."""

from django.db import DatabaseError, InterfaceError, OperationalError, connection

# MySQL and MariaDB error codes of a connection that was lost or refused (2002, 2003,
# 2006, 2013, 2055), or of a server that shut down or killed the session (1053, 1927,
# 4031).
MYSQL_CONNECTION_ERRORS = frozenset({2002, 2003, 2006, 2013, 2055, 1053, 1927, 4031})
# A transaction that lost a deadlock (1213) or timed out waiting for a lock (1205).
MYSQL_LOCK_ERRORS = frozenset({1213, 1205})


def database_unreachable(error: BaseException | None) -> bool:
    """Return True when the error means the database server could not be reached."""
    if isinstance(error, InterfaceError):
        return True
    return isinstance(error, OperationalError) and _mysql_code(error) in MYSQL_CONNECTION_ERRORS


def database_error_transient(error: DatabaseError) -> bool:
    """Return True when the same statements may succeed on a new connection or a new try."""
    return database_unreachable(error) or _mysql_code(error) in MYSQL_LOCK_ERRORS


def _mysql_code(error: BaseException) -> int | None:
    if connection.vendor != "mysql" or not error.args:
        return None
    return error.args[0]


def connection_drop() -> None:
    """Close this thread's broken connection, so that the next query opens a new one."""
    try:
        connection.close()
    except DatabaseError:
        # Closing a connection that the server already dropped may raise. Dropping the
        # handle makes the next query open a new connection all the same.
        connection.connection = None
