"""``/ready``'s own database connection, so that a pool busy with requests does not make a
replica look unready (and be taken out of its Service) exactly when it is loaded."""

from __future__ import annotations

import asyncio
import contextlib

from colonies.ha._connect import Connection, connect


class ReadinessCheck:
    """``SELECT 1`` over one dedicated connection, opened on first use and again after a
    failure; concurrent probes share one check."""

    def __init__(self, dsn: str, timeout: float = 2.0) -> None:
        self.dsn = dsn
        self.timeout = timeout
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()

    async def problem(self) -> str | None:
        """None when the database answers; else why not, in a word."""
        async with self._lock:
            # A kept connection may have been closed meanwhile (a database restart, an idle
            # timeout): that alone is not a reason to fail, so a fresh one gets a second try.
            for _ in range(2):
                reused = self._conn is not None
                try:
                    if self._conn is None:
                        self._conn = await connect(self.dsn, timeout=self.timeout)
                    await self._conn.fetchval("SELECT 1", timeout=self.timeout)
                    return None
                except Exception as exc:  # any failure means "not ready"
                    await self.close()
                    if not reused:
                        return type(exc).__name__
            return "unreachable"

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
            if not conn.is_closed():
                conn.terminate()
