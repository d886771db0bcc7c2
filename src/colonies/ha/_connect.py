"""A dedicated connection whose opening survives cancellation cleanly."""

from __future__ import annotations

import asyncio

import asyncpg


def _discard(task: asyncio.Future[asyncpg.Connection]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().terminate()


async def connect(dsn: str, timeout: float = 5.0) -> asyncpg.Connection:
    """asyncpg.connect, but cancelling the caller lets the handshake finish in the background and
    then drops the connection, instead of leaving an orphaned "connection_lost" error behind."""
    task = asyncio.ensure_future(asyncpg.connect(dsn, timeout=timeout))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_discard)
        raise


# The type of what connect() returns, for a module above the store that holds such a connection
# (server/readiness.py) without importing the driver itself (docs/architecture.md §2.2).
Connection = asyncpg.Connection
