"""A dedicated connection whose opening survives cancellation cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import asyncpg

from colonies.store.db import WRITABLE


def _discard(task: asyncio.Future[asyncpg.Connection]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().terminate()


async def connect(
    dsn: str, timeout: float = 5.0, server_settings: Mapping[str, str] | None = None
) -> asyncpg.Connection:
    """asyncpg.connect to a host that accepts writes (of several, the first), but cancelling
    the caller lets the handshake finish in the background and then drops the connection,
    instead of leaving an orphaned "connection_lost" error behind."""
    task = asyncio.ensure_future(
        asyncpg.connect(
            dsn,
            timeout=timeout,
            server_settings=dict(server_settings) if server_settings else None,
            target_session_attrs=WRITABLE,
        )
    )
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_discard)
        raise


# The type of what connect() returns, for a module above the store that holds such a connection
# (server/readiness.py) without importing the driver itself (docs/architecture.md §2.2).
Connection = asyncpg.Connection
