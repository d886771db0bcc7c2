"""Channel logs: append, read by position, and the event that wakes subscribers."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from colonies.core.scheduling import MAX_CHANNEL_ENTRIES
from colonies.store.events import channel_event
from colonies.store.statements import Statement

EXISTS = Statement("SELECT 1 FROM channels WHERE channelid = :channelid")

# The channel's counter hands out positions, so concurrent appends never collide; a full
# channel (:max_entries) or one that is gone appends nothing. Returns the new entry's position.
APPEND = Statement(f"""
WITH slot AS (
  UPDATE channels SET entries = entries + 1
   WHERE channelid = :channelid AND entries < :max_entries
  RETURNING entries - 1 AS position),
added AS (
  INSERT INTO channel_entries (channelid, position, sequence, inreplyto, ts, senderid, payload,
                               type, error)
  SELECT :channelid, slot.position, :sequence, :inreplyto, :ts, :senderid, :payload, :type,
         :error
    FROM slot
  RETURNING position)
SELECT position, {channel_event(":channelid", "position")} FROM added
""")

# Entries from position :after on, in arrival order; :limit NULL reads them all.
READ = Statement("""
SELECT position, sequence, inreplyto, ts, senderid, payload, type, error
  FROM channel_entries
 WHERE channelid = :channelid AND position >= :after
 ORDER BY position
 LIMIT :limit
""")


class ChannelStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def exists(self, channelid: str) -> bool:
        return bool(await EXISTS.fetchval(self.pool, channelid=channelid))

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
        position: int | None = await APPEND.fetchval(
            self.pool,
            channelid=channelid,
            max_entries=MAX_CHANNEL_ENTRIES,
            sequence=sequence,
            inreplyto=inreplyto,
            ts=now,
            senderid=senderid,
            payload=payload,
            type=kind,
            error=error,
        )
        return position

    async def read(self, channelid: str, after: int, limit: int) -> list[asyncpg.Record]:
        """Entries from position ``after`` on (``limit`` 0 = all), in arrival order."""
        return await READ.fetch(
            self.pool, channelid=channelid, after=after, limit=limit if limit > 0 else None
        )
