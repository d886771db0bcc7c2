"""Query-plan regression: the claim must use the waiting-processes index, never a sequential
scan, however much finished history the table holds (docs/architecture.md §9, invariant 6)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import asyncpg
import pytest

from colonies.store.processes import _CLAIM, _CLAIM_MANY

NOW = datetime.now(timezone.utc)
CLAIMS = {
    "one executor": (_CLAIM, ("c", "cli", "e", "", -1, -1, "x" * 64, NOW, ["x" * 64], ["n"], NOW)),
    "several executors": (
        _CLAIM_MANY,
        (
            "c",
            "cli",
            "",
            ["x" * 64, "y" * 64],
            NOW,
            ["1", "2"],
            ["x" * 64, "y" * 64],
            ["n", "m"],
            NOW,
        ),
    ),
}


@pytest.mark.parametrize("claim", CLAIMS, ids=list(CLAIMS))
async def test_claim_uses_the_waiting_index_over_a_large_history(db_url, claim):
    statement, args = CLAIMS[claim]
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
        plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + statement, *args)
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
