"""The authorization cache (server/access_cache.py): shared look-ups and change notices."""

from __future__ import annotations

import asyncio

import pytest

from colonies.server.access_cache import AccessCache
from colonies.store.server import ColonyAccess

ACCESS = ColonyAccess("owner", 1, "e", "t", "", None, False)


async def test_concurrent_misses_share_one_look_up():
    cache = AccessCache()
    cache.set_enabled(True)
    calls = 0
    release = asyncio.Event()

    async def load(colonyname: str, caller: str) -> ColonyAccess:
        nonlocal calls
        calls += 1
        await release.wait()
        return ACCESS

    waiting = [asyncio.ensure_future(cache.get("c", "k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [ACCESS] * 5
    assert calls == 1
    assert await cache.get("c", "k", load) is ACCESS and calls == 1  # now cached


async def test_a_look_up_after_a_change_does_not_join_one_from_before():
    cache = AccessCache()
    cache.set_enabled(True)
    release = asyncio.Event()
    results = iter(["before", "after"])

    async def load(colonyname: str, caller: str):  # type: ignore[no-untyped-def]
        value = next(results)
        await release.wait()
        return value

    first = asyncio.ensure_future(cache.get("c", "k", load))
    await asyncio.sleep(0)
    cache.clear()  # an access change while the first look-up is under way
    second = asyncio.ensure_future(cache.get("c", "k", load))
    await asyncio.sleep(0)
    release.set()
    assert await first == "before" and await second == "after"


async def test_a_failed_look_up_fails_those_who_joined_and_a_cancelled_one_does_not():
    cache = AccessCache()

    async def failing(colonyname: str, caller: str) -> ColonyAccess:
        await asyncio.sleep(0.01)
        raise ConnectionRefusedError("down")

    results = await asyncio.gather(
        *(cache.get("c", "k", failing) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionRefusedError) for r in results)

    slow = asyncio.Event()

    async def load(colonyname: str, caller: str) -> ColonyAccess:
        await slow.wait()
        return ACCESS

    loader = asyncio.ensure_future(cache.get("c", "k", load))
    await asyncio.sleep(0)
    joiner = asyncio.ensure_future(cache.get("c", "k", load))
    await asyncio.sleep(0)
    loader.cancel()  # its request went away: the one that joined loads for itself
    await asyncio.sleep(0)
    slow.set()
    assert await joiner is ACCESS
    with pytest.raises(asyncio.CancelledError):
        await loader


async def test_changed_since_returns_at_a_change_after_the_generation_read():
    cache = AccessCache()
    read = cache.generation
    cache.clear()  # a change after the read, before the wait begins
    await asyncio.wait_for(cache.changed_since(read), 1)
    later = asyncio.ensure_future(cache.changed_since(cache.generation))
    await asyncio.sleep(0.01)
    assert not later.done()
    cache.clear()
    await asyncio.wait_for(later, 1)
