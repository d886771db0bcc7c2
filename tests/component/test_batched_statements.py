"""Statements shared by concurrent requests (store/batching.py) store exactly what one request
alone would, and a bad item fails only its own caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import asyncpg
import pytest

from colonies.core import Conditions, FunctionSpec
from colonies.core.submission import new_process
from colonies.store import Store, connect
from colonies.store.batching import Batcher
from colonies.store.processes.claims import Claim
from colonies.store.processes.closes import Closing
from colonies.store.processes.submissions import INSERT, INSERT_MANY, process_values


@pytest.fixture
async def pool_and_store(db_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Store]]:
    """A pool on a fresh database that has colony "c", and a store over it."""
    pool = await connect(db_url)
    try:
        await pool.execute("INSERT INTO colonies (name, colonyid) VALUES ('c', repeat('a', 64))")
        yield pool, Store(pool)
    finally:
        await pool.close()


def _new(processid: str, now: datetime, **conditions: object):
    spec = FunctionSpec(
        funcname="f",
        label="l",
        args=[1, "two", {"three": 3.5}],
        kwargs={"k": [True, None]},
        maxwaittime=30,
        maxexectime=10,
        maxretries=2,
        priority=3,
        conditions=Conditions(colonyname="c", executortype="cli", **conditions),  # type: ignore[arg-type]
    )
    return new_process(spec, processid=processid, initiatorid="i" * 64, initiatorname="u", now=now)


async def test_batched_submissions_store_what_single_ones_do(pool_and_store):
    pool, store = pool_and_store
    now = datetime(2026, 11, 29, 3, 4, 5, 678901, tzinfo=timezone.utc)
    kinds = [{}, {"executornames": ["e1", "e2"], "locationname": "Lab", "cpu": "500m"}]
    for n, conditions in enumerate(kinds):
        await store.submissions.submit(_new(f"single{n}", now, **conditions))
        await store.submissions.insert_many(
            [
                (_new(f"batch{n}", now, **conditions), None),
                (_new(f"extra{n}", now, **conditions), None),
            ]
        )
    rows = {
        r["processid"]: {k: v for k, v in dict(r).items() if k not in ("processid", "seq")}
        for r in await pool.fetch("SELECT * FROM processes")
    }
    for n in range(len(kinds)):
        single, batched = rows[f"single{n}"], rows[f"batch{n}"]
        spec_single, spec_batched = single.pop("spec"), batched.pop("spec")
        assert spec_single == spec_batched
        assert single == batched
    assert rows["single1"]["executornames"] == ["e1", "e2"]
    assert rows["single1"]["location_lc"] == "lab"
    assert rows["single0"]["submissiontime"] == now  # microseconds kept
    # Both statements take a process's columns by name: INSERT as its parameters, INSERT_MANY
    # as the keys of the JSON objects it reads (a key it does not list would be dropped).
    values = process_values(_new("x", now))
    assert set(values) == set(INSERT.params)
    inserted_columns = INSERT_MANY.text.split("INSERT INTO processes (")[1].split(")")[0]
    assert [c.strip() for c in inserted_columns.split(",")] == list(values)


async def test_concurrent_calls_share_a_batch_and_a_bad_item_fails_alone():
    batches: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        batches.append(items)
        if any(i < 0 for i in items):
            raise ValueError(f"negative in {items}")
        return [i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(*(batcher(i) for i in (1, 2, -3, 4)), return_exceptions=True)
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError) and "[-3]" in str(results[2])
    assert batches[0] == [1, 2, -3, 4]  # one batch first, then each alone
    assert sorted(map(tuple, batches[1:])) == [(-3,), (1,), (2,), (4,)]


async def test_a_value_too_large_to_index_fails_only_its_caller():
    """A batch item the database cannot index (a name of kilobytes, a nonce once) fails alone:
    the others are run again without it, as for any other item error."""

    async def run(items: list[str]) -> list[str]:
        if any(len(i) > 10 for i in items):
            raise asyncpg.ProgramLimitExceededError("index row size exceeds btree maximum")
        return items

    batcher: Batcher[str, str] = Batcher(run)
    results = await asyncio.gather(
        *(batcher(i) for i in ("a", "x" * 20, "b")), return_exceptions=True
    )
    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], asyncpg.ProgramLimitExceededError)


@pytest.mark.parametrize("size", [1, 3])
async def test_batches_are_bounded(size):
    seen: list[int] = []

    async def run(items: list[int]) -> list[int]:
        seen.append(len(items))
        return items

    batcher: Batcher[int, int] = Batcher(run, max_batch=size)
    assert await asyncio.gather(*(batcher(i) for i in range(7))) == list(range(7))
    assert max(seen) <= size and sum(seen) == 7


async def test_batched_closes_match_single_ones_and_keep_function_statistics(pool_and_store):
    pool, store = pool_and_store
    for name in ("e1", "e2", "e3"):
        await pool.execute(
            "INSERT INTO executors (colonyname, executorname, executorid, executortype, state,"
            " commissiontime, lastheardfromtime, capabilities, allocations)"
            " VALUES ('c', $1, $1 || '-id', 'cli', 1, now(), now(), '{}', '{}')",
            name,
        )
        await pool.execute(
            "INSERT INTO functions (functionid, colonyname, executorname, executortype,"
            " funcname, args) VALUES ($1 || '-f', 'c', $1, 'cli', 'f', '[]')",
            name,
        )
    started = datetime(2026, 11, 29, 3, 0, 0, tzinfo=timezone.utc)
    ended = datetime(2026, 11, 29, 3, 0, 2, 500000, tzinfo=timezone.utc)
    for i, name in enumerate(["e1", "e2", "e3", "e1"]):
        await store.submissions.submit(_new(f"p{i}", started))
        await pool.execute(
            "UPDATE processes SET state = 1, assignedexecutorid = $2, starttime = $3"
            " WHERE processid = $1",
            f"p{i}", f"{name}-id", started,
        )  # fmt: skip
    single = await store.closes.close_many([Closing("p0", "e1-id", ended, ["out0"])])
    batched = await store.closes.close_many(
        [
            Closing("p1", "e2-id", ended, ["out1"]),
            Closing("p2", "e3-id", ended, []),  # no output: the stored one stays
            Closing("p3", "wrong-id", ended, ["x"]),  # not its executor: nothing happens
        ]
    )
    assert single[0]["closed"] and single[0]["ran"] == 2.5
    assert [r["closed"] for r in batched] == [True, True, False]
    assert all(r["admitted"] for r in single + batched)  # no nonce: always admitted
    assert batched[0]["ran"] == single[0]["ran"] and batched[0]["processid"] == "p1"
    rows = {r["processid"]: r for r in await pool.fetch("SELECT * FROM processes")}
    assert [rows[p]["state"] for p in ("p0", "p1", "p2", "p3")] == [2, 2, 2, 1]
    assert rows["p1"]["endtime"] == rows["p0"]["endtime"] == ended
    assert rows["p1"]["output"] == ["out1"] and rows["p2"]["output"] == []
    stats = {
        r["executorname"]: (r["counter"], r["minexectime"], r["maxexectime"])
        for r in await pool.fetch("SELECT * FROM functions")
    }
    assert stats == {"e1": (1, 2.5, 2.5), "e2": (1, 2.5, 2.5), "e3": (1, 2.5, 2.5)}
    # One executor twice in a batch: closed one by one, so its function counts both.
    for i in (4, 5):
        await store.submissions.submit(_new(f"p{i}", started))
        await pool.execute(
            "UPDATE processes SET state = 1, assignedexecutorid = 'e2-id', starttime = $2"
            " WHERE processid = $1",
            f"p{i}", started,
        )  # fmt: skip
    twice = await store.closes.close_many(
        [Closing("p4", "e2-id", ended, []), Closing("p5", "e2-id", ended, [])]
    )  # fmt: skip
    assert all(r["closed"] for r in twice)
    counter = await pool.fetchval("SELECT counter FROM functions WHERE executorname = 'e2'")
    assert counter == 3


async def test_a_database_outage_fails_the_whole_batch_at_once():
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(items)
        raise ConnectionRefusedError("database unreachable")

    batcher: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(*(batcher(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, ConnectionRefusedError) for r in results)
    assert calls == [[0, 1, 2, 3, 4]]  # not retried item by item against a dead database


async def test_shared_claims_keep_priority_order_and_names(pool_and_store):

    pool, store = pool_and_store
    now = datetime(2026, 11, 29, 3, 0, 0, tzinfo=timezone.utc)

    async def waiting(processid: str, priority: int, **conditions: object) -> None:
        new = _new(processid, now, **conditions)
        new.process.prioritytime -= priority * 10**12  # higher priority, earlier
        await store.submissions.submit(new)

    def claims(*names: str) -> list[Claim]:
        return [Claim("c", "cli", name, "", f"{name}-id", now) for name in names]

    await waiting("low", 0)
    await waiting("high", 5)
    await waiting("mid", 2)
    got = await store.claims.claim_many(claims("a", "b"))
    assert [p.processid if p else None for p in got] == ["high", "mid"]
    assert [p.assignedexecutorid for p in got if p] == ["a-id", "b-id"]
    # A process aimed at "y" by name: nobody else may take it, "y" gets it by priority.
    await waiting("for-y", 9, executornames=["y"])
    await waiting("any", 1)
    got = await store.claims.claim_many(claims("x", "y", "z"))
    assert [p.processid if p else None for p in got] == ["any", "for-y", "low"]
    # More executors than processes: the rest get nothing.
    await waiting("last", 0)
    got = await store.claims.claim_many(claims("p", "q"))
    assert [p.processid if p else None for p in got] == ["last", None]
    states = await pool.fetch("SELECT processid, state, assignedexecutorid FROM processes")
    assert {r["processid"]: r["assignedexecutorid"] for r in states} == {
        "high": "a-id", "mid": "b-id", "any": "x-id", "for-y": "y-id", "low": "z-id",
        "last": "p-id",
    }  # fmt: skip


async def test_a_claim_never_starts_a_process_before_its_submission(pool_and_store):
    """A claim asked for before a process was submitted, run after (it waited behind another
    batch), must not give the process a start time before its submission time."""
    from datetime import timedelta

    _, store = pool_and_store
    asked = datetime.now(timezone.utc) - timedelta(seconds=5)
    for i in range(3):
        await store.submissions.submit(_new(f"p{i}", datetime.now(timezone.utc)))
    claims = [Claim("c", "cli", n, "", f"{n}-id", asked) for n in ("a", "b", "c")]
    got = await store.claims.claim_many(claims[:2]) + await store.claims.claim_many(claims[2:])
    assert all(p is not None for p in got)
    for p in got:
        assert p is not None and p.starttime >= p.submissiontime


async def test_a_caller_that_went_away_is_not_run_for():
    ran: list[int] = []
    release = asyncio.Event()

    async def run(items: list[int]) -> list[int]:
        ran.extend(items)
        await release.wait()
        return items

    batcher: Batcher[int, int] = Batcher(run)
    first = asyncio.create_task(batcher(1))
    await asyncio.sleep(0.01)  # batch [1] is in flight
    second, third = asyncio.create_task(batcher(2)), asyncio.create_task(batcher(3))
    await asyncio.sleep(0.01)
    second.cancel()  # queued behind the batch in flight, then gone
    release.set()
    assert await first == 1 and await third == 3
    assert ran == [1, 3]


async def test_a_result_nobody_receives_is_undone():
    undone: list[tuple[int, int]] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def run(items: list[int]) -> list[int]:
        started.set()
        await release.wait()
        return [i * 10 for i in items]

    async def orphaned(item: int, result: int) -> None:
        undone.append((item, result))

    batcher: Batcher[int, int] = Batcher(run, orphaned=orphaned)
    kept, gone = asyncio.create_task(batcher(1)), asyncio.create_task(batcher(2))
    await started.wait()
    gone.cancel()  # its request ended while the batch ran
    release.set()
    assert await kept == 10
    assert undone == [(2, 20)]


async def test_an_unreceived_claim_puts_the_process_back(pool_and_store):

    pool, store = pool_and_store
    now = datetime.now(timezone.utc)
    await store.submissions.submit(_new("p", now))
    claim = Claim("c", "cli", "e", "", "e-id", now)
    (process,) = await store.claims.claim_many([claim])
    assert process is not None and process.processid == "p"
    await store.claims.unclaim(claim, process)
    row = await pool.fetchrow("SELECT state, assignedexecutorid FROM processes")
    assert (row["state"], row["assignedexecutorid"]) == (0, "")
    (again,) = await store.claims.claim_many([Claim("c", "cli", "f", "", "f-id", now)])
    assert again is not None and again.processid == "p"
    await store.claims.unclaim(claim, again)  # not e's any more: left alone
    assert await pool.fetchval("SELECT assignedexecutorid FROM processes") == "f-id"


async def test_batched_statements_act_only_for_requests_with_a_new_nonce(pool_and_store):
    """Submissions and closes record their requests' nonces in the statement that acts
    (store/nonces.py): a used nonce, or one repeated in the same batch, has no effect."""
    from datetime import timedelta

    from colonies.store.nonces import USE_NONCES, Nonce

    pool, store = pool_and_store
    now = datetime.now(timezone.utc)
    expires = now + timedelta(minutes=5)
    await USE_NONCES.execute(pool, callers=["u", "e-id"], nonces=["used", "used"], expires=expires)

    def nonce(caller: str, n: str) -> Nonce:
        return Nonce(caller, n, expires)

    inserted = await store.submissions.insert_many(
        [
            (_new("fresh", now), nonce("u", "n1")),
            (_new("twin", now), nonce("u", "n1")),  # the same request twice at once
            (_new("replayed", now), nonce("u", "used")),
            (_new("old-sdk", now), None),  # no nonce: not tracked
        ]
    )
    assert inserted == [True, False, False, True]
    stored = {r["processid"] for r in await pool.fetch("SELECT processid FROM processes")}
    assert stored == {"fresh", "old-sdk"}

    await pool.execute(
        "UPDATE processes SET state = 1, assignedexecutorid = 'e-id', starttime = $1", now
    )
    (replayed,) = await store.closes.close_many(
        [Closing("fresh", "e-id", now, ["x"], nonce("e-id", "used"))]
    )
    assert not replayed["admitted"] and not replayed["closed"]
    assert await pool.fetchval("SELECT state FROM processes WHERE processid = 'fresh'") == 1
    (closed,) = await store.closes.close_many(
        [Closing("fresh", "e-id", now, ["x"], nonce("e-id", "n2"))]
    )
    assert closed["admitted"] and closed["closed"]
    assert await pool.fetchval("SELECT state FROM processes WHERE processid = 'fresh'") == 2


async def test_a_replayed_request_in_a_shared_claim_takes_nothing(pool_and_store):
    from datetime import timedelta

    from colonies.store import Replayed
    from colonies.store.nonces import USE_NONCES, Nonce

    pool, store = pool_and_store
    now = datetime.now(timezone.utc)
    expires = now + timedelta(minutes=5)
    for i in range(3):
        await store.submissions.submit(_new(f"p{i}", now))
    await USE_NONCES.execute(pool, callers=["b-id"], nonces=["used"], expires=expires)
    claims = [
        Claim("c", "cli", name, "", f"{name}-id", now, Nonce(f"{name}-id", nonce, expires))
        for name, nonce in (("a", "n1"), ("b", "used"), ("c", "n2"), ("a", "n1"))
    ]  # the last: a's request twice at once
    got = await store.claims.claim_many(claims)
    assert isinstance(got[1], Replayed) and isinstance(got[3], Replayed)
    assert [p.processid for p in (got[0], got[2])] == ["p0", "p1"]  # type: ignore[union-attr]
    assert await pool.fetchval("SELECT state FROM processes WHERE processid = 'p2'") == 0
    again = await store.claims.claim_many([claims[0], claims[2]])  # their nonces are used now
    assert all(isinstance(r, Replayed) for r in again)
    assert await pool.fetchval("SELECT state FROM processes WHERE processid = 'p2'") == 0
