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


@pytest.mark.parametrize(
    ("raised", "status", "message"),
    [
        (
            asyncpg.DataError('invalid input syntax for type integer: "secret-value"'),
            400,
            "Failed to add location, a value cannot be stored (malformed or out of range)",
        ),
        (
            asyncpg.ProgramLimitExceededError(
                'index row size 9000 exceeds btree version 4 maximum 2704 for index "secret_idx"'
            ),
            413,
            "Failed to add location, a value is too large to store",
        ),
        (
            asyncpg.TooManyConnectionsError("sorry, too many clients already: secret-host"),
            503,
            "Failed to add location, database unavailable",
        ),
    ],
    ids=["invalid", "too-large", "unavailable"],
)
def test_the_database_s_words_stay_out_of_error_replies(raised, status, message):
    """Issue 16: error text free of database internals (they go to the log only)."""
    from colonies.server.dispatch import _error_reply
    from colonies.server.routes import registry

    reply = _error_reply(registry.routes["addlocationmsg"], raised)
    assert (reply.status, reply.message) == (status, message)
    assert "secret" not in reply.message
