"""The store's own errors: the one translation of the driver's (asyncpg's) exceptions."""

from __future__ import annotations

import asyncpg
import pytest

from colonies.store import (
    Conflict,
    InvalidInput,
    Replayed,
    StoreError,
    TooLarge,
    Unavailable,
    store_error,
)


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (ConnectionRefusedError("refused"), Unavailable),
        (TimeoutError(), Unavailable),
        (asyncpg.CannotConnectNowError("starting up"), Unavailable),
        (asyncpg.TooManyConnectionsError("too many"), Unavailable),
        (asyncpg.InterfaceError("connection is closed"), Unavailable),
        (asyncpg.AdminShutdownError("terminating connection (administrator command)"), Unavailable),
        (
            asyncpg.CrashShutdownError("terminating connection (crash of another process)"),
            Unavailable,
        ),
        (asyncpg.IdleSessionTimeoutError("idle-session timeout"), Unavailable),
        (asyncpg.IdleInTransactionSessionTimeoutError("idle-in-transaction timeout"), Unavailable),
        (asyncpg.ReadOnlySQLTransactionError("read-only transaction"), Unavailable),
        (asyncpg.TargetServerAttributeNotMatched("no host accepts writes"), Unavailable),
        (asyncpg.QueryCanceledError("statement timeout"), StoreError),
        (asyncpg.DataError("invalid input syntax"), InvalidInput),
        (asyncpg.ProgramLimitExceededError("index row size exceeds maximum"), TooLarge),
        (asyncpg.UndefinedTableError("no such table"), StoreError),
    ],
)
def test_driver_errors_become_the_store_s_own(raised, kind):
    error = store_error(raised)
    assert type(error) is kind
    assert error.__cause__ is raised
    assert str(raised) in str(error)


def test_the_store_s_own_errors_pass_and_others_are_not_the_database_s():
    for own in (Conflict("duplicate"), Replayed()):
        assert store_error(own) is own
    assert store_error(ValueError("a bug")) is None
    assert store_error(KeyError("x")) is None
