"""Many executors long-poll while many processes arrive from several clients: every process is
assigned exactly once and closed once; none is left behind."""

from __future__ import annotations

import asyncio
import collections
import time

from colonies.client import AsyncRpc, ColoniesError
from colonies.crypto import generate_private_key

EXECUTORS = 12
SUBMITTERS = 4
PROCESSES = 1200


async def test_exactly_once_under_concurrency(server, server_key):
    from tests.helpers import make_colony

    colony = await make_colony(server.rpc, server_key, "ed25519")
    rpc = server.rpc
    keys = [generate_private_key("ed25519") for _ in range(EXECUTORS)]
    for i, key in enumerate(keys):
        executor = {
            "executorid": key.id,
            "executorname": f"worker-{i}",
            "executortype": "cli",
            "colonyname": colony.name,
        }
        await rpc.call("addexecutormsg", colony.owner, executor=executor)
        await rpc.call(
            "approveexecutormsg", colony.owner, colonyname=colony.name, executorname=f"worker-{i}"
        )

    submitted: list[str] = []
    assigned: collections.Counter[str] = collections.Counter()
    closed: collections.Counter[str] = collections.Counter()
    done = asyncio.Event()

    async def executor_loop(key) -> None:
        async with AsyncRpc(server.url) as own:
            while not done.is_set():
                try:
                    p = await own.call("assignprocessmsg", key, colonyname=colony.name, timeout=1)
                except ColoniesError as exc:
                    assert exc.status == 404, exc
                    continue
                assigned[p["processid"]] += 1
                await own.call("closesuccessfulmsg", key, processid=p["processid"], out=[1])
                closed[p["processid"]] += 1
                if len(closed) >= PROCESSES:
                    done.set()

    async def submitter(n: int) -> None:
        async with AsyncRpc(server.url) as own:
            for _ in range(n):
                p = await own.call(
                    "submitfuncspecmsg",
                    colony.user,
                    spec={
                        "funcname": "noop",
                        "conditions": {"colonyname": colony.name, "executortype": "cli"},
                    },
                )
                submitted.append(p["processid"])

    started = time.monotonic()
    workers = [asyncio.create_task(executor_loop(k)) for k in keys]
    await asyncio.gather(*(submitter(PROCESSES // SUBMITTERS) for _ in range(SUBMITTERS)))
    await asyncio.wait_for(done.wait(), timeout=120)
    await asyncio.gather(*workers)
    elapsed = time.monotonic() - started

    assert len(submitted) == PROCESSES == len(set(submitted))
    assert set(assigned) == set(submitted)
    assert max(assigned.values()) == 1, "a process was assigned twice"
    assert max(closed.values()) == 1
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert stats["successfulprocesses"] == PROCESSES
    assert stats["waitingprocesses"] == 0 and stats["runningprocesses"] == 0
    print(f"{PROCESSES} processes through {EXECUTORS} executors in {elapsed:.1f} s")
