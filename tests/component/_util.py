"""Small helpers shared by the component tests (not a test module)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from colonies.client import ColoniesError

ZERO_TIME = "0001-01-01T00:00:00Z"


async def rpc_error(call: Awaitable[Any]) -> ColoniesError:
    """Await ``call`` and return the error it raised; fail when it succeeded."""
    try:
        result = await call
    except ColoniesError as exc:
        return exc
    raise AssertionError(f"expected an error reply, got success: {result!r}")


async def expect_error(
    call: Awaitable[Any], status: int, starts: str | None = None, contains: str | None = None
) -> ColoniesError:
    exc = await rpc_error(call)
    assert exc.status == status, (exc.status, exc.message)
    if starts is not None:
        assert exc.message.startswith(starts), exc.message
    if contains is not None:
        assert contains in exc.message, exc.message
    return exc
