"""Query-plan regression: the claim must use the waiting-processes index, never a sequential
scan, however much finished history the table holds (docs/architecture.md §9, invariant 6)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import asyncpg
import pytest

from colonies.store.statements import every_statement

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


@pytest.mark.parametrize("name", CLAIMS)
async def test_claim_uses_the_waiting_index_over_a_large_history(db_url, name):
    statement = every_statement()[name]
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("INSERT INTO colonies (name, colonyid) VALUES ('c', repeat('a', 64))")
        await conn.execute(
            """INSERT INTO processes (processid, colonyname, state, initiatorid, initiatorname,
                   executortype, prioritytime, submissiontime, endtime, spec)
               SELECT md5(g::text) || md5((g + 1)::text), 'c', 2, 'x', 'x', 'cli', g,
                      now(), now(), '{}'::jsonb
                 FROM generate_series(1, 200000) g"""
        )
        await conn.execute(
            """INSERT INTO processes (processid, colonyname, state, initiatorid, initiatorname,
                   executortype, prioritytime, submissiontime, spec)
               SELECT 'w' || g, 'c', 0, 'x', 'x', 'cli', g, now(), '{}'::jsonb
                 FROM generate_series(1, 50) g"""
        )
        await conn.execute("ANALYZE processes")
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
