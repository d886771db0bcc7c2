"""The store's own errors, and the one place that turns the driver's errors into them.

Code above ``store/`` catches these and never the driver's (asyncpg's) exception classes: a
caller that catches an exception a store call raised passes it through :func:`store_error`.
"""

from __future__ import annotations

import asyncpg


class StoreError(Exception):
    """A database failure; the subclasses say which kind. A bare StoreError is none of them
    (a bug or a misconfigured database rather than the request's fault)."""


class Unavailable(StoreError):
    """The database cannot be reached now (down, restarting, out of connections): retry."""


class InvalidInput(StoreError):
    """The database refuses a value of the request (out of range, malformed)."""


class TooLarge(StoreError):
    """A value of the request is beyond what the database can store (an indexed name of
    several kilobytes, say)."""


class Conflict(StoreError):
    """The request collides with existing data (a duplicate name, a missing parent row)."""


class Replayed(StoreError):
    """The request's nonce was used before: a replay, refused without effect."""


# Failures of the connection or of the server rather than of a statement: the same statement
# succeeds once the pool has a connection to a writable primary again. OSError includes
# TimeoutError. A server that is shutting down or crashed ends its sessions with an operator
# intervention error (57P01, 57P02); an idle session ended by a server-side timeout, likewise
# (57P05, 25P03). A server that is (or became) read-only refuses writes (25006): a standby, or a
# demoted primary; the pool then connects anew, to the host that accepts writes (store/db.py).
# No host accepting writes (every host of a several-host URL read-only) is the driver's
# TargetServerAttributeNotMatched.
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.IdleSessionTimeoutError,
    asyncpg.IdleInTransactionSessionTimeoutError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.TargetServerAttributeNotMatched,
)


def store_error(exc: BaseException) -> StoreError | None:
    """The store's error for ``exc`` raised by a store call: ``exc`` itself when it is one
    already, a translation of a driver error, None for anything else (not the database's)."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, _UNAVAILABLE):
        error: StoreError = Unavailable(str(exc))
    elif isinstance(exc, asyncpg.DataError):
        error = InvalidInput(str(exc))
    elif isinstance(exc, asyncpg.ProgramLimitExceededError):
        error = TooLarge(str(exc))
    elif isinstance(exc, asyncpg.PostgresError):
        error = StoreError(f"{type(exc).__name__}: {exc}")
    else:
        return None
    error.__cause__ = exc
    return error
