"""Query-plan regression: the claim must use the waiting-processes index, never a sequential
scan, however much finished history the table holds (docs/architecture.md §9, invariant 6)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import asyncpg
import pytest

from colonies.store.statements import every_statement
from tests.helpers import TEMPLATE_DB
from tests.support.postgres import PostgresCluster

NOW = datetime.now(timezone.utc)
# The statements guarded, by name (python -m colonies.store NAME prints one), with parameters.
CLAIMS = {
    "processes.claims.CLAIM_ONE": {
        "colonyname": "c",
        "executortype": "cli",
        "executorname": "e",
        "location_lc": "",
        "available_cpu": -1,
        "available_mem": -1,
        "executorid": "x" * 64,
        "now": NOW,
        "callers": ["x" * 64],
        "nonces": ["n"],
        "expires": NOW,
    },
    "processes.claims.CLAIM_MANY": {
        "colonyname": "c",
        "executortype": "cli",
        "location_lc": "",
        "executorids": ["x" * 64, "y" * 64],
        "now": NOW,
        "claim_ns": ["1", "2"],
        "callers": ["x" * 64, "y" * 64],
        "nonces": ["n", "m"],
        "expires": NOW,
    },
}


# Finished history and a few waiting processes, enough that a sequential scan or the history
# index would show in the plan if the claim could use it.
HISTORY = 200_000
WAITING = 50


@pytest.fixture(scope="module")
def large_history(pg: PostgresCluster) -> Iterator[str]:
    """A database holding a large finished history, built once for every statement guarded.

    The rows are inserted without the ledger's triggers (``session_replication_role``): the
    claim's plan does not involve the ledger, and appending 200,000 ledger entries would double
    the time it takes to build.
    """
    name = "plans_" + uuid.uuid4().hex[:8]
    pg.create_database(name, template=TEMPLATE_DB)

    async def build() -> None:
        conn = await asyncpg.connect(pg.dsn(name))
        try:
            await conn.execute("SET session_replication_role = replica")
            await conn.execute(
                "INSERT INTO colonies (name, colonyid) VALUES ('c', repeat('a', 64))"
            )
            await conn.execute(
                """INSERT INTO processes (processid, colonyname, state, initiatorid,
                       initiatorname, executortype, prioritytime, submissiontime, endtime, spec)
                   SELECT md5(g::text) || md5((g + 1)::text), 'c', 2, 'x', 'x', 'cli', g,
                          now(), now(), '{}'::jsonb
                     FROM generate_series(1, $1::int) g""",
                HISTORY,
            )
            await conn.execute(
                """INSERT INTO processes (processid, colonyname, state, initiatorid,
                       initiatorname, executortype, prioritytime, submissiontime, spec)
                   SELECT 'w' || g, 'c', 0, 'x', 'x', 'cli', g, now(), '{}'::jsonb
                     FROM generate_series(1, $1::int) g""",
                WAITING,
            )
            await conn.execute("ANALYZE processes")
        finally:
            await conn.close()

    asyncio.run(build())
    try:
        yield pg.dsn(name)
    finally:
        pg.drop_database(name)


async def test_the_history_is_there(large_history):
    """The database the plans are taken in holds what the test means it to."""
    conn = await asyncpg.connect(large_history)
    try:
        counts = dict(await conn.fetch("SELECT state, count(*) FROM processes GROUP BY state"))
    finally:
        await conn.close()
    assert counts == {2: HISTORY, 0: WAITING}


@pytest.mark.parametrize("name", CLAIMS)
async def test_claim_uses_the_waiting_index_over_a_large_history(large_history, name):
    statement = every_statement()[name]
    conn = await asyncpg.connect(large_history)
    try:
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + statement.sql, *statement.args(CLAIMS[name])
        )
    finally:
        await conn.close()
    text = json.dumps(json.loads(plan) if isinstance(plan, str) else plan)
    nodes = []

    def walk(node: dict) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    for root in json.loads(text):
        walk(root["Plan"])
    scans = [(n["Node Type"], n.get("Relation Name")) for n in nodes]
    assert ("Seq Scan", "processes") not in scans, scans
    # The candidates come from an index of waiting processes only (partial, state = 0).
    chosen = {n.get("Index Name") for n in nodes if n.get("Relation Name") == "processes"}
    assert chosen & {"processes_claim", "processes_waiting"}, chosen
    assert "processes_history" not in chosen, chosen
