"""Graph resolution inside the transaction that changes a member (docs/protocol.md §7.9).

A member that succeeds releases the children whose parents have all succeeded; a member that
fails fails every WAITING or RUNNING member; the graph's state follows its members' states.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from colonies.store.events import process_event
from colonies.store.statements import Statement

# The graph state rule of §7.9 over the members' states, with start and end times: FAILED if
# one failed, else CANCELLED if one was cancelled, else SUCCESS if all succeeded, else RUNNING
# if one runs or succeeded, else WAITING.
REFRESH_GRAPH = Statement("""
UPDATE processgraphs g
   SET state = s.state,
       starttime = CASE WHEN s.state <> 0 /* WAITING */
                         AND g.starttime = '0001-01-01 00:00:00+00'
                        THEN :now ELSE g.starttime END,
       -- ended now: SUCCESS, FAILED or CANCELLED (states from SUCCESS on), and not before
       endtime = CASE WHEN s.state >= 2 /* SUCCESS */ AND g.state < 2 /* SUCCESS */
                      THEN :now ELSE g.endtime END
  FROM (SELECT CASE WHEN bool_or(state = 3 /* FAILED */) THEN 3 /* FAILED */
                    WHEN bool_or(state = 4 /* CANCELLED */) THEN 4 /* CANCELLED */
                    WHEN bool_and(state = 2 /* SUCCESS */) THEN 2 /* SUCCESS */
                    WHEN bool_or(state IN (1 /* RUNNING */, 2 /* SUCCESS */))
                    THEN 1 /* RUNNING */
                    ELSE 0 /* WAITING */ END AS state
          FROM processes WHERE processgraphid = :processgraphid) s
 WHERE g.processgraphid = :processgraphid
RETURNING g.state
""")

# The children of a member that succeeded whose parents have all succeeded stop waiting.
RELEASE_CHILDREN = Statement(f"""
WITH released AS (
  UPDATE processes c SET waitforparents = false
   WHERE c.processid = ANY ((SELECT children FROM processes WHERE processid = :processid)::text[])
     AND c.waitforparents AND c.state = 0 /* WAITING */
     AND NOT EXISTS (SELECT 1 FROM processes pp
                      WHERE pp.processid = ANY (c.parents) AND pp.state <> 2 /* SUCCESS */)
  RETURNING c.processid, c.state, c.colonyname, c.executortype, c.location_lc)
SELECT {process_event("released")} FROM released
""")

# The failure cascade (§8.1 item 7): only WAITING and RUNNING members become FAILED.
FAIL_MEMBERS = Statement(f"""
WITH failed AS (
  UPDATE processes SET state = 3 /* FAILED */, endtime = :endtime
   WHERE processgraphid = :processgraphid AND state IN (0 /* WAITING */, 1 /* RUNNING */)
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {process_event("failed")} FROM failed
""")


async def refresh_state(conn: asyncpg.Connection, graphid: str, now: datetime) -> int | None:
    state: int | None = await REFRESH_GRAPH.fetchval(conn, processgraphid=graphid, now=now)
    return state


async def member_succeeded(
    conn: asyncpg.Connection, graphid: str, processid: str, now: datetime
) -> None:
    await RELEASE_CHILDREN.execute(conn, processid=processid)
    await refresh_state(conn, graphid, now)


async def member_failed(conn: asyncpg.Connection, graphid: str, now: datetime) -> None:
    await FAIL_MEMBERS.execute(conn, processgraphid=graphid, endtime=now)
    await refresh_state(conn, graphid, now)
