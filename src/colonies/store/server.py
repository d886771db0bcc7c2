"""The server owner's ID, membership look-ups for authorization, and server-wide statistics."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from colonies.core import ExecutorState, ProcessState, Statistics
from colonies.store.statements import Statement


@dataclass(frozen=True, slots=True)
class ColonyAccess:
    """What one caller is in one colony, fetched in one round trip."""

    colonyid: str
    executor_state: int | None  # None: the caller is no executor of this colony
    executor_name: str | None
    executor_type: str | None
    executor_location: str | None
    user_name: str | None  # None: the caller is no user of this colony
    paused: bool  # assignments of the colony are paused

    @property
    def is_user(self) -> bool:
        return self.user_name is not None


# Colony, executor and user rows of the caller in one colony, in one round trip (an ID is one
# executor and one user of a colony at most: migration 012).
ACCESS = Statement("""
SELECT c.colonyid, e.state AS executor_state, e.executorname AS executor_name,
       e.executortype AS executor_type, e.locationname AS executor_location,
       u.name AS user_name, c.paused
  FROM colonies c
  LEFT JOIN LATERAL (SELECT state, executorname, executortype, locationname FROM executors
                      WHERE executorid = :caller AND colonyname = c.name LIMIT 1) e ON true
  LEFT JOIN LATERAL (SELECT name FROM users
                      WHERE userid = :caller AND colonyname = c.name LIMIT 1) u ON true
 WHERE c.name = :colonyname
""")

# Whether the key is anyone's here: the server owner, a colony's owner, an executor or a user.
KNOWN_KEY = Statement("""
SELECT EXISTS (SELECT 1 FROM executors WHERE executorid = :caller)
    OR EXISTS (SELECT 1 FROM users WHERE userid = :caller)
    OR EXISTS (SELECT 1 FROM colonies WHERE colonyid = :caller)
    OR EXISTS (SELECT 1 FROM server_owner WHERE serverid = :caller)
""")

# Counts of one colony, or of every colony when :colonyname is NULL.
STATISTICS = Statement("""
SELECT (SELECT count(*) FROM colonies
         WHERE :colonyname::text IS NULL OR name = :colonyname) AS colonies,
       e.executors, e.activeexecutors, e.unregisteredexecutors,
       p.waitingprocesses, p.runningprocesses, p.successfulprocesses, p.failedprocesses,
       p.cancelledprocesses, g.waitingworkflows, g.runningworkflows, g.successfulworkflows,
       g.failedworkflows, g.cancelledworkflows
  FROM (SELECT count(*) AS executors,
               count(*) FILTER (WHERE state = 1 /* APPROVED */) AS activeexecutors,
               count(*) FILTER (WHERE state = 3 /* UNREGISTERED */) AS unregisteredexecutors
          FROM executors WHERE :colonyname::text IS NULL OR colonyname = :colonyname) e,
       (SELECT count(*) FILTER (WHERE state = 0 /* WAITING */) AS waitingprocesses,
               count(*) FILTER (WHERE state = 1 /* RUNNING */) AS runningprocesses,
               count(*) FILTER (WHERE state = 2 /* SUCCESS */) AS successfulprocesses,
               count(*) FILTER (WHERE state = 3 /* FAILED */) AS failedprocesses,
               count(*) FILTER (WHERE state = 4 /* CANCELLED */) AS cancelledprocesses
          FROM processes WHERE :colonyname::text IS NULL OR colonyname = :colonyname) p,
       (SELECT count(*) FILTER (WHERE state = 0 /* WAITING */) AS waitingworkflows,
               count(*) FILTER (WHERE state = 1 /* RUNNING */) AS runningworkflows,
               count(*) FILTER (WHERE state = 2 /* SUCCESS */) AS successfulworkflows,
               count(*) FILTER (WHERE state = 3 /* FAILED */) AS failedworkflows,
               count(*) FILTER (WHERE state = 4 /* CANCELLED */) AS cancelledworkflows
          FROM processgraphs WHERE :colonyname::text IS NULL OR colonyname = :colonyname) g
""")

# The leader's gauges: how many processes, workflows and executors per colony and state.
PROCESS_COUNTS = Statement("""
SELECT colonyname, state, count(*) AS n FROM processes GROUP BY colonyname, state
""")

WORKFLOW_COUNTS = Statement("""
SELECT colonyname, state, count(*) AS n FROM processgraphs GROUP BY colonyname, state
""")

EXECUTOR_COUNTS = Statement("""
SELECT colonyname, state, count(*) AS n FROM executors GROUP BY colonyname, state
""")

SERVER_ID = Statement("SELECT serverid FROM server_owner")

# The server owner's ID, unless one is stored already.
SEED_SERVER_ID = Statement("""
INSERT INTO server_owner (serverid) VALUES (:serverid) ON CONFLICT DO NOTHING
""")

CHANGE_SERVER_ID = Statement("""
INSERT INTO server_owner (serverid) VALUES (:serverid)
ON CONFLICT (singleton) DO UPDATE SET serverid = EXCLUDED.serverid
""")

PING = Statement("SELECT 1")


def _state_names(states: type[ProcessState] | type[ExecutorState]) -> dict[int, str]:
    """The gauges' label for each state (WAITING: "waiting", SUCCESS: "successful")."""
    return {
        s.value: "successful" if s is ProcessState.SUCCESS else s.name.lower()
        for s in states
        if s is not ProcessState.NOTSET
    }


class ServerStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def server_id(self) -> str:
        value = await SERVER_ID.fetchval(self.pool)
        return value or ""

    async def seed_server_id(self, serverid: str) -> str:
        """Store ``serverid`` when none is stored yet; return the ID in force."""
        await SEED_SERVER_ID.execute(self.pool, serverid=serverid)
        return await self.server_id()

    async def change_server_id(self, serverid: str) -> None:
        await CHANGE_SERVER_ID.execute(self.pool, serverid=serverid)

    async def colony_access(self, colonyname: str, caller: str) -> ColonyAccess | None:
        row = await ACCESS.fetchrow(self.pool, colonyname=colonyname, caller=caller)
        if row is None:
            return None
        return ColonyAccess(**dict(row))

    async def is_known_key(self, caller: str) -> bool:
        known: bool = await KNOWN_KEY.fetchval(self.pool, caller=caller)
        return known

    async def statistics(self, colonyname: str | None = None) -> Statistics:
        row = await STATISTICS.fetchrow(self.pool, colonyname=colonyname)
        assert row is not None  # counts: always one row
        return Statistics(**dict(row))

    async def fleet_counts(self) -> dict[str, list[tuple[str, str, int]]]:
        """Processes, workflows and executors by colony and state, for the leader's gauges."""
        counts = {
            "processes": (PROCESS_COUNTS, _state_names(ProcessState)),
            "workflows": (WORKFLOW_COUNTS, _state_names(ProcessState)),
            "executors": (EXECUTOR_COUNTS, _state_names(ExecutorState)),
        }
        result: dict[str, list[tuple[str, str, int]]] = {}
        for key, (statement, names) in counts.items():
            rows = await statement.fetch(self.pool)
            result[key] = [
                (r["colonyname"], names.get(r["state"], str(r["state"])), r["n"]) for r in rows
            ]
        return result

    async def ping(self) -> None:
        await PING.fetchval(self.pool)
