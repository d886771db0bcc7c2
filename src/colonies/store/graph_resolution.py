"""Graph resolution inside the transaction that changes a member (docs/protocol.md §7.9).

A member that succeeds releases the children whose parents have all succeeded; a member that
fails fails every WAITING or RUNNING member; the graph's state follows its members' states.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from colonies.store.events import NOTIFY_SQL

# The graph state rule of §7.9 over the members' states, in SQL, with start and end times.
_REFRESH = """
UPDATE processgraphs g
   SET state = s.state,
       starttime = CASE WHEN s.state <> 0 AND g.starttime = '0001-01-01 00:00:00+00'
                        THEN $2 ELSE g.starttime END,
       endtime = CASE WHEN s.state >= 2 AND g.state < 2 THEN $2 ELSE g.endtime END
  FROM (SELECT CASE WHEN bool_or(state = 3) THEN 3
                    WHEN bool_or(state = 4) THEN 4
                    WHEN bool_and(state = 2) THEN 2
                    WHEN bool_or(state IN (1, 2)) THEN 1
                    ELSE 0 END AS state
          FROM processes WHERE processgraphid = $1) s
 WHERE g.processgraphid = $1
RETURNING g.state
"""

_RELEASE = f"""
WITH released AS (
  UPDATE processes c SET waitforparents = false
   WHERE c.processid = ANY ((SELECT children FROM processes WHERE processid = $1)::text[])
     AND c.waitforparents AND c.state = 0
     AND NOT EXISTS (SELECT 1 FROM processes pp
                      WHERE pp.processid = ANY (c.parents) AND pp.state <> 2)
  RETURNING c.processid, c.state, c.colonyname, c.executortype, c.location_lc)
SELECT {NOTIFY_SQL.format(p="released")} FROM released
"""

_CASCADE = f"""
WITH failed AS (
  UPDATE processes SET state = 3, endtime = $2
   WHERE processgraphid = $1 AND state IN (0, 1)
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {NOTIFY_SQL.format(p="failed")} FROM failed
"""


async def refresh_state(conn: asyncpg.Connection, graphid: str, now: datetime) -> int | None:
    state: int | None = await conn.fetchval(_REFRESH, graphid, now)
    return state


async def member_succeeded(
    conn: asyncpg.Connection, graphid: str, processid: str, now: datetime
) -> None:
    await conn.execute(_RELEASE, processid)
    await refresh_state(conn, graphid, now)


async def member_failed(conn: asyncpg.Connection, graphid: str, now: datetime) -> None:
    """The failure cascade (§8.1 item 7): only WAITING and RUNNING members become FAILED."""
    await conn.execute(_CASCADE, graphid, now)
    await refresh_state(conn, graphid, now)
