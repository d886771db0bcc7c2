"""Replay protection: signed nonce and timestamp from the project's clients; old clients too."""

from __future__ import annotations

import asyncio
import time

import pytest

from colonies.client import ColoniesError
from colonies.rpc import sign_request
from tests.helpers import function_spec as _spec
from tests.helpers import make_config, start_server


def old_style(payloadtype: str, payload: dict, key) -> bytes:
    """An envelope as pycolonies and the Go SDK send it: no nonce, no timestamp."""
    return sign_request(payloadtype, payload, key, replay_fields=False)


async def test_a_captured_request_is_refused_on_every_replica(server, colony, db_url, server_key):
    captured = sign_request("getcolonymsg", {"colonyname": colony.name}, colony.user)
    assert (await server.rpc.post(captured))["name"] == colony.name
    with pytest.raises(ColoniesError) as err:
        await server.rpc.post(captured)
    assert err.value.status == 403 and "Replayed request" in err.value.message
    runner, _ = await start_server(make_config(db_url, server_key))
    try:
        from colonies.client import AsyncRpc

        async with AsyncRpc(f"http://127.0.0.1:{runner.addresses[0][1]}") as other:
            with pytest.raises(ColoniesError) as err:
                await other.post(captured)
            assert err.value.status == 403 and "Replayed request" in err.value.message
    finally:
        await runner.cleanup()


async def test_old_clients_work_by_default_and_stale_timestamps_are_refused(server, colony):
    body = old_style("getcolonymsg", {"colonyname": colony.name}, colony.user)
    assert (await server.rpc.post(body))["name"] == colony.name
    assert (await server.rpc.post(body))["name"] == colony.name  # no nonce: not tracked
    stale = {"colonyname": colony.name, "nonce": "n1", "timestamp": time.time_ns() - 10**12}
    with pytest.raises(ColoniesError) as err:
        await server.rpc.post(sign_request("getcolonymsg", stale, colony.user))
    assert err.value.status == 403 and "window" in err.value.message
    half = {"colonyname": colony.name, "nonce": "only-a-nonce"}
    with pytest.raises(ColoniesError) as err:
        await server.rpc.post(old_style("getcolonymsg", half, colony.user))
    assert err.value.status == 403


async def test_require_fresh_refuses_old_style_payloads(db_url, server_key):
    from colonies.client import AsyncRpc

    config = make_config(db_url, server_key, require_fresh=True)
    runner, _ = await start_server(config)
    try:
        async with AsyncRpc(f"http://127.0.0.1:{config.port}") as rpc:
            with pytest.raises(ColoniesError) as err:
                await rpc.post(old_style("getcoloniesmsg", {}, server_key))
            assert err.value.status == 403 and "nonce and a timestamp" in err.value.message
            assert await rpc.call("getcoloniesmsg", server_key) == []  # the SDK signs both
    finally:
        await runner.cleanup()


async def test_concurrent_nonces_are_used_in_batches(server):
    from datetime import timedelta

    from colonies.core import utcnow
    from colonies.server.app import STATE_KEY
    from colonies.store import Replayed
    from colonies.store.nonces import Nonce

    nonces = server.app[STATE_KEY].store.nonces
    expires = utcnow() + timedelta(minutes=5)
    calls = []
    original = nonces.use_many

    async def counting(batch):
        calls.append(len(batch))
        return await original(batch)

    nonces.use_many = counting
    try:
        results = await asyncio.gather(
            *(nonces.use(Nonce("caller", f"n{i}", expires)) for i in range(50)),
            nonces.use(Nonce("caller", "n7", expires)),  # the same nonce at once: a replay
            return_exceptions=True,
        )
        with pytest.raises(Replayed):
            await nonces.use(Nonce("caller", "n3", expires))
    finally:
        nonces.use_many = original
    assert results[:50] == [None] * 50 and isinstance(results[50], Replayed)
    assert sum(calls) == 52 and len(calls) <= 3, calls  # one statement for the whole burst


async def _refused_as_replay(rpc, body: bytes) -> None:
    with pytest.raises(ColoniesError) as err:
        await rpc.post(body)
    assert err.value.status == 403 and "Replayed request" in err.value.message


async def _waiting(rpc, colony) -> int:
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    return stats["waitingprocesses"]


@pytest.mark.parametrize("colony", ["ed25519"], indirect=True)
async def test_submit_and_close_record_their_nonce_in_the_statement_that_acts(server, colony):
    """Their replay check shares the statement that inserts or closes: a replay sent later, or
    at the same moment (one batch), is refused as a replay and changes nothing."""
    rpc = server.rpc
    submit = sign_request("submitfuncspecmsg", {"spec": _spec(colony)}, colony.user)
    await rpc.post(submit)
    await _refused_as_replay(rpc, submit)
    twin = sign_request("submitfuncspecmsg", {"spec": _spec(colony)}, colony.user)
    both = await asyncio.gather(rpc.post(twin), rpc.post(twin), return_exceptions=True)
    assert sum(isinstance(r, dict) for r in both) == 1, both
    refused = [r for r in both if isinstance(r, ColoniesError)]
    assert refused[0].status == 403 and "Replayed request" in refused[0].message
    # Through the transaction of a submission with attributes, too.
    with_env = sign_request(
        "submitfuncspecmsg", {"spec": _spec(colony, env={"A": "1"})}, colony.user
    )
    await rpc.post(with_env)
    await _refused_as_replay(rpc, with_env)
    assert await _waiting(rpc, colony) == 3

    got = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    close = sign_request(
        "closesuccessfulmsg", {"processid": got["processid"], "out": ["once"]}, colony.executor
    )
    await rpc.post(close)
    await _refused_as_replay(rpc, close)  # not "process is not running": it is a replay
    done = await rpc.call("getprocessmsg", colony.user, processid=got["processid"])
    assert done["state"] == 2 and done["out"] == ["once"]


@pytest.mark.parametrize("colony", ["ed25519"], indirect=True)
async def test_a_request_refused_before_its_statement_still_uses_its_nonce(server, colony):
    rpc = server.rpc
    close = sign_request("closesuccessfulmsg", {"processid": "0" * 64, "out": []}, colony.executor)
    with pytest.raises(ColoniesError) as err:
        await rpc.post(close)
    assert err.value.status == 404
    await _refused_as_replay(rpc, close)
    # Refused by the handler's validation (a value beyond its limit is refused earlier, when
    # the payload is decoded: such a request uses no nonce, as one that is no JSON).
    invalid = sign_request(
        "submitfuncspecmsg", {"spec": _spec(colony, channels=["c", "c"])}, colony.user
    )
    with pytest.raises(ColoniesError) as err:
        await rpc.post(invalid)
    assert err.value.status == 400 and "channel names" in err.value.message
    await _refused_as_replay(rpc, invalid)


@pytest.mark.parametrize("colony", ["ed25519"], indirect=True)
async def test_assign_records_its_nonce_with_its_first_claim(server, colony):
    """An assign's first claim records the nonce: a replay claims nothing. A poll that waits
    before claiming (assignments paused) records it before waiting."""
    rpc = server.rpc
    for _ in range(2):
        await rpc.call("submitfuncspecmsg", colony.user, spec=_spec(colony))
    assign = sign_request(
        "assignprocessmsg", {"colonyname": colony.name, "timeout": -1}, colony.executor
    )
    first = await rpc.post(assign)
    await _refused_as_replay(rpc, assign)
    assert await _waiting(rpc, colony) == 1  # the replay took nothing
    got = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    assert got["processid"] != first["processid"]

    await rpc.call("pauseassignmentsmsg", colony.owner, colonyname=colony.name)
    poll = sign_request(
        "assignprocessmsg", {"colonyname": colony.name, "timeout": 1}, colony.executor
    )
    with pytest.raises(ColoniesError) as err:
        await rpc.post(poll)
    assert err.value.status == 408
    started = time.monotonic()
    await _refused_as_replay(rpc, poll)
    assert time.monotonic() - started < 0.9  # refused before waiting, not after


@pytest.mark.parametrize("colony", ["ed25519"], indirect=True)
@pytest.mark.parametrize("nonce", ["a\u0000b", "x" * 257])
async def test_a_nonce_the_database_cannot_store_is_refused_clearly(server, colony, nonce):
    for payloadtype, payload in (
        ("getcolonymsg", {"colonyname": colony.name}),  # used before the handler
        ("submitfuncspecmsg", {"spec": _spec(colony)}),  # used by the handler's statement
    ):
        signed = {**payload, "nonce": nonce, "timestamp": time.time_ns()}
        with pytest.raises(ColoniesError) as err:
            await server.rpc.post(old_style(payloadtype, signed, colony.user))
        # Refused by the request limits when the payload is decoded (core/limits.py).
        assert err.value.status == 400 and err.value.message.endswith("- at `$.nonce`")
    assert await _waiting(server.rpc, colony) == 0
