"""``GET /metrics`` after a process lifecycle: counters, histograms, the long-poll gauge, and no
identifiers in the text (process and executor IDs are unbounded label values)."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from colonies.client import ColoniesError
from tests.helpers import eventually
from tests.helpers import function_spec as spec


async def scrape(url: str) -> tuple[str, dict[tuple[str, tuple], float]]:
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def value(samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_process_metrics_after_a_cycle(server, colony):
    rpc = server.rpc
    _, before = await scrape(server.url)
    assert value(before, "colonies_processes_submitted_total") == 0
    assert value(before, "colonies_processes_assigned_total") == 0
    assert value(before, "colonies_processes_closed_total", outcome="successful") == 0
    assert value(before, "colonies_process_wait_seconds_count") == 0

    ok = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    bad = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    await asyncio.sleep(0.02)
    for _ in range(2):
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    await asyncio.sleep(0.02)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=ok["processid"], out=[1])
    await rpc.call("closefailedmsg", colony.executor, processid=bad["processid"], errors=["e"])
    # A refused close and a failed assign count nothing.
    with contextlib.suppress(ColoniesError):
        await rpc.call("closesuccessfulmsg", colony.executor, processid=ok["processid"], out=[])
    with contextlib.suppress(ColoniesError):
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)

    # A long poll is visible in the gauge while it waits.
    poll = asyncio.create_task(
        rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=10)
    )

    async def waiting_in_the_gauge() -> bool:
        _, samples = await scrape(server.url)
        return value(samples, "colonies_assign_waiting") == 1

    await eventually(waiting_in_the_gauge, "the waiting long poll in the gauge", timeout=3)
    third = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    assert (await poll)["processid"] == third["processid"]

    text, samples = await scrape(server.url)
    assert value(samples, "colonies_assign_waiting") == 0
    assert value(samples, "colonies_processes_submitted_total") == 3
    assert value(samples, "colonies_processes_assigned_total") == 3
    assert value(samples, "colonies_processes_closed_total", outcome="successful") == 1
    assert value(samples, "colonies_processes_closed_total", outcome="failed") == 1
    assert value(samples, "colonies_process_wait_seconds_count") == 3
    assert value(samples, "colonies_process_wait_seconds_sum") >= 0.02 * 2
    assert value(samples, "colonies_process_wait_seconds_bucket", le="+Inf") == 3
    for outcome in ("successful", "failed"):
        assert value(samples, "colonies_process_execution_seconds_count", outcome=outcome) == 1
        assert (
            value(samples, "colonies_process_execution_seconds_bucket", outcome=outcome, le="+Inf")
            == 1
        )
    assert value(samples, "colonies_process_execution_seconds_sum", outcome="successful") >= 0.02
    assert "# TYPE colonies_process_wait_seconds histogram" in text
    assert "# TYPE colonies_assign_waiting gauge" in text

    # No identifiers of any kind in the exposition.
    identities = [ok["processid"], bad["processid"], third["processid"]]
    identities += [colony.executor.id, colony.user.id, colony.owner.id]
    for identity in identities:
        assert identity not in text, identity
    assert colony.executor_name not in text and colony.user_name not in text
