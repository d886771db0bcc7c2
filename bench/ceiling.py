"""The database's own ceiling: the bare SQL cycle (insert, claim with SKIP LOCKED, complete)
driven by asyncpg with the same concurrency as bench/lifecycle.py, on a throwaway PostgreSQL
with the project's schema. Every lifecycle run can then be read as a fraction of this.

    .venv/bin/python bench/ceiling.py --seconds 15 --executors 50 --submitters 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

# The package from this checkout, and tests/support (throwaway services) beside it.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import asyncpg  # noqa: E402

from colonies.store import migrate  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

INSERT = """
INSERT INTO processes (processid, colonyname, initiatorid, initiatorname, executortype,
                       prioritytime, submissiontime, spec)
VALUES ($1, 'bench', 'x', 'x', 'bench', $2, now(), '{}')
"""
CLAIM = """
UPDATE processes p SET state = 1, isassigned = true, assignedexecutorid = $1, starttime = now()
 WHERE p.processid = (SELECT c.processid FROM processes c
                       WHERE c.state = 0 AND NOT c.waitforparents
                         AND c.colonyname = 'bench' AND c.executortype = 'bench'
                       ORDER BY c.prioritytime, c.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING p.processid
"""
COMPLETE = "UPDATE processes SET state = 2, endtime = now() WHERE processid = $1 AND state = 1"


async def run(dsn: str, seconds: float, executors: int, submitters: int) -> dict[str, float]:
    pool = await asyncpg.create_pool(
        dsn, min_size=executors + submitters, max_size=executors + submitters
    )
    stop = asyncio.Event()
    done = 0
    claim_latency: list[float] = []

    async def submitter() -> None:
        async with pool.acquire() as conn:
            while not stop.is_set():
                await conn.execute(INSERT, uuid.uuid4().hex, time.time_ns())

    async def executor() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while not stop.is_set():
                started = time.perf_counter()
                pid = await conn.fetchval(CLAIM, "e")
                if pid is None:
                    await asyncio.sleep(0.001)
                    continue
                claim_latency.append(time.perf_counter() - started)
                await conn.execute(COMPLETE, pid)
                done += 1

    tasks = [asyncio.create_task(submitter()) for _ in range(submitters)]
    tasks += [asyncio.create_task(executor()) for _ in range(executors)]
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await pool.close()
    claim_latency.sort()
    return {
        "cycles_per_s": done / elapsed,
        "claim_p50_ms": claim_latency[len(claim_latency) // 2] * 1000 if claim_latency else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--executors", type=int, default=50)
    parser.add_argument("--submitters", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with PostgresCluster(settings={"max_connections": 400}) as pg:
        pg.start()
        pg.create_database("bench")

        async def prepare() -> None:
            conn = await asyncpg.connect(pg.dsn("bench"))
            await migrate(conn)
            await conn.execute(
                "INSERT INTO colonies (name, colonyid) VALUES ('bench', repeat('a', 64))"
            )
            await conn.close()

        asyncio.run(prepare())
        result = asyncio.run(run(pg.dsn("bench"), args.seconds, args.executors, args.submitters))
    result["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"bare SQL cycle: {result['cycles_per_s']:.0f} cycles/s "
              f"(claim p50 {result['claim_p50_ms']:.2f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
