"""Hostile input from one colony's member: each a clear 4xx envelope (or refused when added),
and contained to the request or the object that caused it (issue 16's findings, in order).

The noisy-neighbour test (test_noisy_neighbour.py) sends all of them at once beside another
colony's workload; here each is checked alone, with the exact answer it now gets.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import zlib
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import WSMsgType

from colonies.core import utcnow
from colonies.core.limits import MAX_NAME
from colonies.crypto import generate_private_key, new_random_id
from colonies.rpc.envelope import sign_request
from colonies.server.app import DISPATCHER_KEY, STATE_KEY
from colonies.server.transports import http as http_transport
from colonies.store.migrate import available_migrations, migrate
from colonies.store.schema import readable_by
from tests.helpers import (
    eventually,
    expect_error,
    function_spec,
    make_colony,
    make_config,
    start_server,
)

BIG = "x" * (1 << 20)


@pytest.fixture
async def colony(server, server_key):  # type: ignore[no-untyped-def]
    """One colony, one signature scheme: what is checked here does not depend on it."""
    return await make_colony(server.rpc, server_key)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def envelope_of(payloadtype: str, payload_json: bytes, key) -> bytes:  # type: ignore[no-untyped-def]
    text = base64.b64encode(payload_json).decode()
    signature = key.sign(text.encode()) if key is not None else ""
    return json.dumps(
        {"signature": signature, "payloadtype": payloadtype, "payload": text}
    ).encode()


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """POST /api; the reply must be an envelope whose status is the HTTP status."""
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/api", data=body, headers=headers or {}) as reply:
            status, raw = reply.status, await reply.read()
    envelope = json.loads(raw)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    if status != 200:
        assert envelope["error"] is True and payload["status"] == status, (status, payload)
    return status, payload


def workflow(colony, *specs: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    return json.dumps({"colonyname": colony.name, "functionspecs": list(specs)})


# --- 1: deep nesting --------------------------------------------------------------------------
async def test_deep_nesting_is_a_400_envelope(server, colony):
    deep = ("[" * 1000 + "]" * 1000).encode()
    body = envelope_of(
        "getcolonymsg", b'{"msgtype": "getcolonymsg", "colonyname": "x", "a": ' + deep + b"}",
        colony.user,
    )  # fmt: skip
    status, payload = await post(server.url, body)
    assert (status, payload["message"]) == (
        400,
        "Failed to get colony, Nested deeper than 64 levels - at `$`",
    )
    status, payload = await post(server.url, b'{"signature": "", "x": ' + deep + b"}")
    assert (status, payload["message"]) == (
        400,
        "Failed to parse RPC message, invalid JSON envelope",
    )
    await expect_error(
        server.rpc.call(
            "submitfuncspecmsg", colony.user, spec=function_spec(colony, args=nested(500))
        ),
        400,
        starts="Failed to submit function spec, Nested deeper than 64 levels - at `$.spec.args[0]`",
    )


async def test_deep_nesting_on_pubsub_gets_an_error_frame(server, colony):
    deep = "[" * 1000 + "]" * 1000
    async with aiohttp.ClientSession() as session, session.ws_connect(server.url + "/pubsub") as ws:
        await ws.send_str('{"signature": "", "x": ' + deep + "}")
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.TEXT
        envelope = json.loads(msg.data)
        assert envelope["error"] is True
        assert json.loads(base64.b64decode(envelope["payload"]))["status"] == 400


# --- 2, 3: crons and generators that could never fire are refused when added --------------------
@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ({"interval": 10**12}, "Failed to add cron, Integer larger than 158112000"),
        (
            {"interval": -1, "cronexpression": "@every 99999999999h"},
            "Failed to add cron, invalid cron expression: @every: a duration longer than",
        ),
        (
            {"interval": -1, "cronexpression": "0 0 0 31 2 *"},
            "Failed to add cron, invalid cron expression: no activation within",
        ),
        (
            {"interval": -1, "cronexpression": "0 0 0 " + ",".join(["1"] * 300_000) + " * *"},
            "Failed to add cron, String longer than 1024 characters",
        ),
    ],
    ids=["interval", "every", "31-february", "1mb-expression"],
)
async def test_a_cron_that_cannot_fire_is_refused(server, colony, cron, message):
    spec = function_spec(colony, nodename="a")
    cron = {"colonyname": colony.name, "name": "c", "workflowspec": workflow(colony, spec), **cron}
    await expect_error(server.rpc.call("addcronmsg", colony.user, cron=cron), 400, starts=message)
    assert await server.rpc.call("getcronsmsg", colony.user, colonyname=colony.name, count=10) == []


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (
            [{"funcname": "f\x00", "nodename": "a"}],
            "workflow spec: String holds U+0000, which cannot be stored - at "
            "`$.functionspecs[0].funcname`",
        ),
        ([{"nodename": "a", "priority": 99_999}], "workflow spec: Integer larger than 50000"),
        ([{"nodename": "a"}, {"nodename": "a"}], "workflow spec: nodename a is used twice"),
        ([{"nodename": "a", "conditions": {"dependencies": ["b"]}}], "workflow spec: a depends"),
        ([], "workflow spec: a workflow needs at least one function spec"),
    ],
    ids=["nul", "priority", "duplicate-node", "unknown-parent", "empty"],
)
@pytest.mark.parametrize("kind", ["cron", "generator"])
async def test_a_workflow_that_would_not_submit_is_refused_when_added(
    server, colony, kind, specs, message
):
    text = workflow(colony, *(function_spec(colony, **s) for s in specs))
    if kind == "cron":
        call = server.rpc.call(
            "addcronmsg",
            colony.user,
            cron={"colonyname": colony.name, "name": "c", "interval": 1, "workflowspec": text},
        )
    else:
        call = server.rpc.call(
            "addgeneratormsg",
            colony.user,
            generator={"colonyname": colony.name, "name": "g", "trigger": 1, "workflowspec": text},
        )
    await expect_error(call, 400, starts=f"Failed to add {kind}, {message}")


async def test_a_huge_reconcile_interval_is_refused(server, colony):
    definition = {
        "kind": "BlueprintDefinition",
        "metadata": {"name": "d", "colonyname": colony.name},
        "spec": {
            "names": {"kind": "K"},
            "handler": {"executorType": "cli", "reconcileInterval": 10**12},
        },
    }
    await expect_error(
        server.rpc.call("addblueprintdefinitionmsg", colony.owner, blueprintdefinition=definition),
        400,
        starts="Failed to add blueprint definition, Integer larger than 158112000",
    )


async def _bad_legacy_schedules(pool: asyncpg.Pool, colony) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Crons and a generator of ``colony`` as an older server stored them, unchecked."""
    good = workflow(colony, function_spec(colony, nodename="a"))
    nul = workflow(colony, function_spec(colony, "f\x00", nodename="a"))
    prio = workflow(colony, function_spec(colony, nodename="a", priority=99_999))
    crons = {
        "huge-interval": (10**12, "", good),
        "every-huge": (-1, "@every 99999999999h", good),
        "february-31": (-1, "0 0 0 31 2 *", good),
        "1mb-expression": (-1, "0 " * 500_000, good),
        "nul-function": (1, "", nul),
        "bad-priority": (1, "", prio),
    }
    ids = {}
    past = utcnow() - timedelta(seconds=5)
    for name, (interval, expression, spec) in crons.items():
        ids[name] = cronid = "0" + new_random_id()[1:]  # before the good cron when ordered
        await pool.execute(
            "INSERT INTO crons (cronid, colonyname, initiatorid, initiatorname, name,"
            " cronexpression, interval, workflowspec, nextrun)"
            " VALUES ($1, $2, $3, 'alice', $4, $5, $6, $7, $8)",
            cronid, colony.name, colony.user.id, name, expression, interval, spec, past,
        )  # fmt: skip
    ids["generator"] = generatorid = "0" * 64  # the first generator when ordered
    await pool.execute(
        "INSERT INTO generators (generatorid, colonyname, initiatorid, initiatorname, name,"
        " workflowspec, trigger, timeout) VALUES ($1, $2, $3, 'alice', 'bad', $4, 1, 0)",
        generatorid, colony.name, colony.user.id, prio,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO generator_args (generatorid, arg) VALUES ($1, 'x')", generatorid
    )
    return ids


async def test_a_failing_cron_or_generator_fails_alone_and_is_reported_once(
    server, server_key, caplog
):
    """Schedules an older server accepted fail each in their own savepoint; another colony's
    1-second cron and its generator fire all the same; each failure is logged once."""
    caplog.set_level(logging.WARNING, logger="colonies.store.schedules")
    mallory = await make_colony(server.rpc, server_key, name="mallory")
    victim = await make_colony(server.rpc, server_key, name="victim")
    bad = await _bad_legacy_schedules(server.app[STATE_KEY].store.pool, mallory)
    spec = function_spec(victim, nodename="tick")
    await server.rpc.call(
        "addcronmsg",
        victim.user,
        cron={"colonyname": victim.name, "name": "tick", "interval": 1,
              "workflowspec": workflow(victim, spec)},
    )  # fmt: skip
    generator = await server.rpc.call(
        "addgeneratormsg",
        victim.user,
        generator={"colonyname": victim.name, "name": "g", "trigger": 1,
                   "workflowspec": workflow(victim, spec)},
    )  # fmt: skip
    await server.rpc.call(
        "packgeneratormsg", victim.user, generatorid=generator["generatorid"], arg="a"
    )
    await asyncio.sleep(4.5)
    graphs = await server.rpc.call(
        "getprocessgraphsmsg", victim.user, colonyname=victim.name, count=100, state=0
    )
    from_generator = [g for g in graphs if len(g["processids"]) == 1]
    assert len(graphs) >= 3, graphs  # the cron (once a second after its first sight) + generator
    assert from_generator
    warnings = [r.getMessage() for r in caplog.records if "cannot fire" in r.getMessage()]
    for name in ("every-huge", "february-31", "1mb-expression", "nul-function", "bad-priority"):
        mentions = [w for w in warnings if bad[name] in w]
        assert len(mentions) == 1, (name, warnings)
    assert len([w for w in warnings if bad["generator"] in w]) == 1, warnings
    # A huge interval is kept within the horizon: it fired, and is scheduled, not failing.
    assert not [w for w in warnings if bad["huge-interval"] in w]
    huge = await server.rpc.call("getcronmsg", mallory.user, cronid=bad["huge-interval"])
    assert huge["nextrun"].startswith(str(utcnow().year + 5))
    # Of Mallory's crons only that one submitted a workflow.
    graphs = await server.rpc.call(
        "getprocessgraphsmsg", mallory.user, colonyname=mallory.name, count=100, state=0
    )
    assert len(graphs) == 1


async def test_run_cron_of_a_legacy_bad_cron_is_a_400(server, colony):
    ids = await _bad_legacy_schedules(server.app[STATE_KEY].store.pool, colony)
    await expect_error(
        server.rpc.call("runcronmsg", colony.user, cronid=ids["nul-function"]),
        400,
        starts="Failed to run cron, String holds U+0000",
    )


# --- 4: nonces ------------------------------------------------------------------------------------
@pytest.mark.parametrize("nonce", ["n" * 20_000, "n\x00"], ids=["20kb", "nul"])
async def test_a_bad_nonce_is_a_400(server, colony, nonce):
    await expect_error(
        server.rpc.call("getcolonymsg", colony.user, colonyname=colony.name, nonce=nonce),
        400,
        starts="Failed to get colony, String",
    )


# --- 5: a long chain listed children first --------------------------------------------------------
async def test_a_long_chain_listed_children_first_is_submitted_and_shown(server, colony):
    n = 400
    specs = [
        function_spec(
            colony, nodename=f"n{i}", conditions={"dependencies": [f"n{i - 1}"] if i else []}
        )
        for i in range(n)
    ][::-1]
    graph = await server.rpc.call(
        "submitworkflowspecmsg",
        colony.user,
        spec={"colonyname": colony.name, "functionspecs": specs},
    )
    assert len(graph["processids"]) == n
    assert max(node["position"]["y"] for node in graph["nodes"]) == (n - 1) * 80
    graphs = await server.rpc.call(
        "getprocessgraphsmsg", colony.user, colonyname=colony.name, count=10, state=0
    )
    assert [g["processgraphid"] for g in graphs] == [graph["processgraphid"]]


# --- 6, 7: ranges and lengths ---------------------------------------------------------------------
async def test_out_of_range_integers_are_a_400(server, colony):
    await expect_error(
        server.rpc.call(
            "submitfuncspecmsg", colony.user, spec=function_spec(colony, maxwaittime=10**12)
        ),
        400,
        starts="Failed to submit function spec, Integer larger than 2147483647 - at "
        "`$.spec.maxwaittime`",
    )
    await expect_error(
        server.rpc.call(
            "getprocesshistmsg", colony.user, colonyname=colony.name, seconds=10**12, state=2
        ),
        400,
        starts="Failed to get process history, Integer larger than 2147483647 - at `$.seconds`",
    )


def long_named(colony, server_key) -> dict[str, tuple[str, Any, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """A request naming each kind of thing with 1 MiB: (payloadtype, key, fields)."""
    c = colony.name
    return {
        "colony": ("addcolonymsg", server_key,
                   {"colony": {"colonyid": colony.owner.id, "name": BIG}}),
        "executor": (
            "addexecutormsg",
            colony.owner,
            {"executor": {"colonyname": c, "executorid": "a" * 64, "executorname": BIG,
                          "executortype": "t"}},
        ),
        "user": ("addusermsg", colony.owner,
                 {"user": {"colonyname": c, "userid": "a" * 64, "name": BIG}}),
        "location": ("addlocationmsg", colony.owner, {"location": {"colonyname": c, "name": BIG}}),
        "function": (
            "addfunctionmsg",
            colony.executor,
            {"fun": {"colonyname": c, "executorname": colony.executor_name, "funcname": BIG}},
        ),
        "file": ("addfilemsg", colony.user,
                 {"file": {"colonyname": c, "label": "/l", "name": BIG}}),
        "snapshot": ("createsnapshotmsg", colony.user,
                     {"colonyname": c, "label": "/l", "name": BIG}),
        "generator": (
            "addgeneratormsg",
            colony.user,
            {"generator": {"colonyname": c, "name": BIG, "trigger": 1, "workflowspec": "{}"}},
        ),
        "blueprint-definition": (
            "addblueprintdefinitionmsg",
            colony.owner,
            {"blueprintdefinition": {"metadata": {"name": BIG, "colonyname": c}}},
        ),
        "channel": (
            "submitfuncspecmsg",
            colony.user,
            {"spec": function_spec(colony, channels=[BIG])},
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    "kind",
    ["colony", "executor", "user", "location", "function", "file", "snapshot", "generator",
     "blueprint-definition", "channel"],
)  # fmt: skip
async def test_a_1mib_name_is_a_400_that_does_not_echo_it(server, server_key, colony, kind):
    payloadtype, key, fields = long_named(colony, server_key)[kind]
    error = await expect_error(server.rpc.call(payloadtype, key, **fields), 400)
    assert "longer than" in error.message and len(error.message) < 200, error.message


# --- 8 and the transport: encodings, timeouts ---------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("deflate", b"not deflate at all"),
        ("gzip", gzip.compress(b"\x00" * (1 << 20))),
        ("deflate", zlib.compress(b"{}")),
        ("br", b"x"),
    ],
    ids=["corrupt-deflate", "gzip-bomb", "deflate", "brotli"],
)
async def test_a_compressed_body_is_refused_with_415(server, encoding, body):
    status, payload = await post(server.url, body, {"Content-Encoding": encoding})
    assert status == 415
    assert payload["message"] == f"Request content encoding {encoding!r} is not supported"


async def test_identity_encoding_is_accepted(server, colony):
    body = sign_request("getcolonymsg", {"colonyname": colony.name}, colony.user)
    status, payload = await post(server.url, body, {"Content-Encoding": "identity"})
    assert status == 200 and payload["name"] == colony.name


async def _connect(server):  # type: ignore[no-untyped-def]
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sends until it closes the connection (at most ``seconds``)."""
    return await asyncio.wait_for(reader.read(), seconds)


async def test_headers_must_arrive_within_the_header_timeout(server, monkeypatch):
    monkeypatch.setattr(http_transport, "HEADER_TIMEOUT", 0.5)
    reader, writer = await _connect(server)
    writer.write(b"POST /api HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    assert await _closed_within(reader, 5) == b""
    writer.close()
    # A request whose headers complete in time is served, on a connection kept alive.
    reader, writer = await _connect(server)
    for _ in range(2):
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(0.8)  # longer than the header timeout, between requests
    writer.close()


async def test_a_body_that_pauses_is_a_408(server, monkeypatch):
    monkeypatch.setattr(http_transport, "BODY_IDLE_TIMEOUT", 0.5)
    reader, writer = await _connect(server)
    writer.write(b'POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"sig')
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"Connection: close" in head
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    envelope = json.loads(await reader.readexactly(length))
    assert json.loads(base64.b64decode(envelope["payload"]))["status"] == 408
    writer.close()


async def test_a_slow_but_steady_body_is_read(server, colony, monkeypatch):
    monkeypatch.setattr(http_transport, "BODY_IDLE_TIMEOUT", 0.5)
    body = sign_request("getcolonymsg", {"colonyname": colony.name}, colony.user)
    reader, writer = await _connect(server)
    writer.write(b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
    for i in range(0, len(body), len(body) // 4 + 1):
        await asyncio.sleep(0.3)
        writer.write(body[i : i + len(body) // 4 + 1])
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200"), head
    writer.close()


# --- risks: large payloads from unknown keys, subscriptions, duplicate IDs, /metrics -------
async def test_a_large_payload_is_decoded_only_for_a_known_key(server, colony):
    message = "m" * 200_000
    stranger = generate_private_key("ed25519")
    await expect_error(
        server.rpc.call("addlogmsg", stranger, processid="p" * 64, message=message),
        403,
        starts="Access denied, the signing key is not known to this server",
    )
    # The colony's executor may send as much (and gets the answer its request deserves).
    await expect_error(
        server.rpc.call("addlogmsg", colony.executor, processid="p" * 64, message=message), 404
    )
    body = envelope_of(
        "versionmsg", json.dumps({"msgtype": "versionmsg", "x": message}).encode(), None
    )
    status, payload = await post(server.url, body)
    assert status == 413, payload


async def test_an_unexpected_failure_is_still_an_envelope(server, colony, monkeypatch):
    from colonies.server import dispatch

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(dispatch, "decode_payload", broken)
    body = sign_request("getcolonymsg", {"colonyname": colony.name}, colony.user)
    status, payload = await post(server.url, body)
    assert (status, payload["message"]) == (500, "internal server error")


async def _subscribed(session, server, key, **fields: Any):  # type: ignore[no-untyped-def]
    """A socket with a process subscription, once the server has it."""
    subscriptions = server.app[STATE_KEY].subscriptions
    before = len(subscriptions)
    ws = await session.ws_connect(server.url + "/pubsub")
    await ws.send_str(sign_request("subscribeprocessesmsg", fields, key).decode())
    for _ in range(200):
        if len(subscriptions) > before:
            return ws
        await asyncio.sleep(0.05)
    raise AssertionError("the subscription did not start")


async def _refusal(ws) -> dict:  # type: ignore[no-untyped-def]
    msg = await ws.receive(timeout=10)
    assert msg.type == WSMsgType.TEXT, msg
    envelope = json.loads(msg.data)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    assert envelope["error"] is True, payload
    closing = await ws.receive(timeout=5)
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED), closing
    return payload


@pytest.mark.parametrize("loss", ["removed", "rejected", "colony-removed"])
async def test_a_subscription_ends_when_its_subscriber_loses_access(
    server, server_key, colony, loss
):
    fields = {"colonyname": colony.name, "executortype": "cli", "state": 0, "timeout": 600}
    async with aiohttp.ClientSession() as session:
        ws = await _subscribed(session, server, colony.executor, **fields)
        await server.rpc.call("submitfuncspecmsg", colony.user, spec=function_spec(colony))
        pushed = json.loads((await ws.receive(timeout=10)).data)
        assert pushed["error"] is False  # subscribed, and served
        if loss == "removed":
            await server.rpc.call(
                "removeexecutormsg", colony.owner, colonyname=colony.name,
                executorname=colony.executor_name,
            )  # fmt: skip
        elif loss == "rejected":
            await server.rpc.call(
                "rejectexecutormsg", colony.owner, colonyname=colony.name,
                executorname=colony.executor_name,
            )  # fmt: skip
        else:
            await server.rpc.call("removecolonymsg", server_key, colonyname=colony.name)
        payload = await _refusal(ws)
        assert payload["status"] == 403
        if loss == "colony-removed":
            assert payload["message"] == f"Colony with name {colony.name} does not exists"
        else:
            assert payload["message"].startswith("Access denied")
        await ws.close()


async def test_a_subscription_ends_when_access_changes_during_its_first_check(
    server, colony, monkeypatch
):
    """The executor is removed, and the server has heard of it, after the subscription's first
    check passed but before it began to watch for changes: it still ends with 403."""
    state = server.app[STATE_KEY]
    dispatcher = server.app[DISPATCHER_KEY]
    checked = dispatcher.authorized

    async def authorized_then_removed(ctx, route, msg):  # type: ignore[no-untyped-def]
        target = await checked(ctx, route, msg)
        if route.payloadtype == "subscribeprocessesmsg":
            generation = state.access_cache.generation
            await server.rpc.call(
                "removeexecutormsg", colony.owner, colonyname=colony.name,
                executorname=colony.executor_name,
            )  # fmt: skip
            await eventually(lambda: state.access_cache.generation != generation, "change heard")
        return target

    monkeypatch.setattr(dispatcher, "authorized", authorized_then_removed)
    fields = {"colonyname": colony.name, "executortype": "cli", "state": 0, "timeout": 600}
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.url + "/pubsub")
        await ws.send_str(sign_request("subscribeprocessesmsg", fields, colony.executor).decode())
        payload = await _refusal(ws)  # within 10 s; the periodic re-check is 30 s away
        assert payload["status"] == 403 and payload["message"].startswith("Access denied")
        await ws.close()


async def test_a_member_keeps_its_subscription_when_others_change(server, colony):
    fields = {"colonyname": colony.name, "executortype": "cli", "state": 0, "timeout": 600}
    async with aiohttp.ClientSession() as session:
        ws = await _subscribed(session, server, colony.user, **fields)
        other = generate_private_key("ed25519")
        await server.rpc.call(
            "addexecutormsg",
            colony.owner,
            executor={"colonyname": colony.name, "executorid": other.id, "executorname": "e2",
                      "executortype": "cli"},
        )  # fmt: skip
        await server.rpc.call(
            "removeexecutormsg", colony.owner, colonyname=colony.name, executorname="e2"
        )
        await server.rpc.call("submitfuncspecmsg", colony.user, spec=function_spec(colony))
        pushed = json.loads((await ws.receive(timeout=10)).data)
        assert pushed["error"] is False
        await ws.close()


async def test_executor_and_user_ids_are_unique_in_a_colony(server, colony):
    twin = {"colonyname": colony.name, "executorid": colony.executor.id, "executorname": "twin",
            "executortype": "cli"}  # fmt: skip
    await expect_error(
        server.rpc.call("addexecutormsg", colony.owner, executor=twin),
        400,
        starts=f"Failed to add executor, Executor with id {colony.executor.id} already exists",
    )
    # Not by rotation either, even by a rejected executor.
    rogue = generate_private_key("ed25519")
    await server.rpc.call(
        "addexecutormsg",
        colony.owner,
        executor={**twin, "executorid": rogue.id, "executorname": "rogue"},
    )
    await server.rpc.call(
        "rejectexecutormsg", colony.owner, colonyname=colony.name, executorname="rogue"
    )
    await expect_error(
        server.rpc.call(
            "changeexecutoridmsg", rogue, colonyname=colony.name, executorid=colony.executor.id
        ),
        400,
        contains="already exists",
    )
    await expect_error(
        server.rpc.call(
            "addusermsg",
            colony.owner,
            user={"colonyname": colony.name, "userid": colony.user.id, "name": "bob"},
        ),
        400,
        starts=f"Failed to add user, A user with id {colony.user.id} already exists",
    )
    # The same key may still be a member of another colony.


async def test_migration_012_keeps_duplicates_but_takes_their_id(pg, server_key):
    name = "t_dupes"
    pg.create_database(name)
    try:
        conn = await asyncpg.connect(pg.dsn(name))
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for version, mname, sql in available_migrations():
                if version < 12:
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        version, mname,
                    )  # fmt: skip
            key = "a" * 64
            await conn.execute("INSERT INTO colonies (name, colonyid) VALUES ('c', $1)", "b" * 64)
            for ename, when in (("second", "2026-01-02"), ("first", "2026-01-01")):
                await conn.execute(
                    "INSERT INTO executors (colonyname, executorname, executorid, executortype,"
                    " state, commissiontime, lastheardfromtime, capabilities, allocations)"
                    " VALUES ('c', $1, $2, 't', 1, $3::text::timestamptz, now(), '{}', '{}')",
                    ename, key, when,
                )  # fmt: skip
            for uname in ("u2", "u1"):
                await conn.execute(
                    "INSERT INTO users (colonyname, name, userid) VALUES ('c', $1, $2)", uname, key
                )
            assert await migrate(conn) == [v for v, _, _ in available_migrations() if v >= 12]
            rows = await conn.fetch(
                "SELECT executorname, executorid, state FROM executors ORDER BY executorname"
            )
            assert [tuple(r) for r in rows] == [
                ("first", key, 1),
                ("second", "duplicate:second", 2),
            ]
            users = await conn.fetch("SELECT name, userid FROM users ORDER BY name")
            assert [tuple(r) for r in users] == [("u1", key), ("u2", "duplicate:u2")]
            # The previous release runs on this schema: it declares so (store/schema.py).
            sql = {v: text for v, _, text in available_migrations()}[12]
            assert readable_by(12, sql) == 11
        finally:
            await conn.close()
    finally:
        pg.drop_database(name)


async def test_metrics_hide_colony_names_by_default(db_url, server_key):
    runner, app = await start_server(make_config(db_url, server_key))
    try:
        state = app[STATE_KEY]
        url = f"http://127.0.0.1:{state.config.port}"
        from colonies.client import AsyncRpc

        async with AsyncRpc(url) as rpc:
            colony = await make_colony(rpc, server_key, name="secret-colony")
            await rpc.call("submitfuncspecmsg", colony.user, spec=function_spec(colony))
        leadership = state.leadership
        await eventually(lambda: leadership.loops.term is not None, "a term", timeout=30)
        gauges = next(t for t in leadership.loops.ticks if t.name == "gauges")
        await gauges.run(leadership.loops.term)
        async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as reply:
            text = await reply.text()
        assert "secret-colony" not in text
        assert 'colonies_processes{colony="",state="waiting"} 1.0' in text
    finally:
        await runner.cleanup()


def test_names_are_limited_below_what_an_index_holds():
    # 4 bytes per character at most: a name always fits a PostgreSQL index row (~2.7 kB).
    assert MAX_NAME * 4 * 2 < 2700
