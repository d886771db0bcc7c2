"""The event bus: one dedicated LISTEN connection per replica, re-established when lost.

Events are sent with NOTIFY inside the transaction that changes state, so a replica hears of a
change only once it is committed, whichever replica made it. After a lost connection the bus
calls ``on_reconnect`` so waiters re-check the database for anything they missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from colonies.ha._connect import connect

log = logging.getLogger(__name__)


class EventBus:
    def __init__(
        self,
        dsn: str,
        channel: str,
        on_message: Callable[[str, int], None],
        on_reconnect: Callable[[], None],
        *,
        ping_interval: float = 5.0,
        retry_interval: float = 0.5,
        on_connection: Callable[[bool], None] | None = None,
    ) -> None:
        self.dsn = dsn
        self.channel = channel
        self.on_message = on_message
        self.on_reconnect = on_reconnect
        self.ping_interval = ping_interval
        self.retry_interval = retry_interval
        self.on_connection = on_connection
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> None:
        self._task = asyncio.create_task(self._run(), name="event-bus")
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _listener(self, conn: object, pid: int, channel: str, payload: str) -> None:
        try:
            self.on_message(payload, pid)  # pid: the PostgreSQL backend that sent it
        except Exception:
            log.exception("event handler failed")

    async def _run(self) -> None:
        first = True
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self.dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(_setting(lost))
                await conn.add_listener(self.channel, self._listener)
                self.connected.set()
                if self.on_connection is not None:
                    self.on_connection(True)
                if not first:
                    log.info("event bus reconnected")
                    self.on_reconnect()  # catch up on whatever was sent while we were away
                first = False
                while not lost.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(lost.wait(), self.ping_interval)
                    if not lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=self.ping_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event bus connection lost: %s", exc)
            finally:
                self.connected.clear()
                if self.on_connection is not None:
                    self.on_connection(False)
                if conn is not None:
                    conn.terminate()  # no goodbye: a query may still be in flight
            await asyncio.sleep(self.retry_interval)


def _setting(event: asyncio.Event) -> Callable[[asyncpg.Connection], None]:
    """A termination listener that sets ``event``: this connection's, even when the driver calls
    it after the next connection's loop has begun."""
    return lambda _conn: event.set()
