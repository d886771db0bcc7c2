"""Channel logs: append, read by position, and the NOTIFY that wakes subscribers."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from colonies.core.scheduling import MAX_CHANNEL_ENTRIES
from colonies.store.events import EVENTS_CHANNEL

_ENTRY = "position, sequence, inreplyto, ts, senderid, payload, type, error"

# The channel's counter hands out positions, so concurrent appends never collide.
_APPEND = f"""
WITH slot AS (
  UPDATE channels SET entries = entries + 1
   WHERE channelid = $1 AND entries < {MAX_CHANNEL_ENTRIES}
  RETURNING entries - 1 AS position),
added AS (
  INSERT INTO channel_entries (channelid, position, sequence, inreplyto, ts, senderid, payload,
                               type, error)
  SELECT $1, slot.position, $2, $3, $4, $5, $6, $7, $8 FROM slot
  RETURNING position)
SELECT position, pg_notify('{EVENTS_CHANNEL}', json_build_array('c', $1::text, position)::text)
  FROM added
"""


class ChannelStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def exists(self, channelid: str) -> bool:
        return bool(
            await self.pool.fetchval("SELECT 1 FROM channels WHERE channelid = $1", channelid)
        )

    async def append(
        self,
        channelid: str,
        sequence: int,
        inreplyto: int,
        now: datetime,
        senderid: str,
        payload: bytes,
        kind: str,
        error: str = "",
    ) -> int | None:
        """The new entry's position; None when the channel is gone or full."""
        position: int | None = await self.pool.fetchval(
            _APPEND, channelid, sequence, inreplyto, now, senderid, payload, kind, error
        )
        return position

    async def read(self, channelid: str, after: int, limit: int) -> list[asyncpg.Record]:
        """Entries from position ``after`` on (``limit`` 0 = all), in arrival order."""
        if limit > 0:
            return await self.pool.fetch(
                f"SELECT {_ENTRY} FROM channel_entries WHERE channelid = $1 AND position >= $2 "
                "ORDER BY position LIMIT $3",
                channelid,
                after,
                limit,
            )
        return await self.pool.fetch(
            f"SELECT {_ENTRY} FROM channel_entries WHERE channelid = $1 AND position >= $2 "
            "ORDER BY position",
            channelid,
            after,
        )
