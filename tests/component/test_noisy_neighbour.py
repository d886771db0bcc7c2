"""The noisy neighbour: colony M's member sends every hostile input of issue 16 while colony V
runs a steady workload with a 1-second cron, a generator and a subscription. V sees no failed
request, its subscription stays, its cron keeps time; M gets a 4xx envelope for each input.

One real server (in this process), bounded: about :data:`DURATION` seconds of load.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import itertools
import json
import time
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from colonies.client import AsyncRpc, ColoniesError
from colonies.crypto import generate_private_key
from colonies.rpc.envelope import sign_request
from colonies.server.app import STATE_KEY
from tests.component.test_hostile_input import _bad_legacy_schedules, long_named, nested
from tests.helpers import function_spec, make_colony

DURATION = 12.0  # seconds of load
CRON_SLACK = 3.0  # the most seconds between two firings of V's 1-second cron


def _scheduled(colony, funcname: str) -> str:  # type: ignore[no-untyped-def]
    """A workflow for a type nobody serves: its processes stay waiting, for counting."""
    spec = function_spec(colony, funcname, nodename="n", conditions={"executortype": "nobody"})
    return json.dumps({"colonyname": colony.name, "functionspecs": [spec]})


class Victim:
    """V's steady workload; every failure is counted, none is retried."""

    def __init__(self, url: str, colony) -> None:  # type: ignore[no-untyped-def]
        self.rpc = AsyncRpc(url, retry_attempts=1)
        self.url = url
        self.colony = colony
        self.ok: Counter[str] = Counter()
        self.failed: list[str] = []
        self.pushed = 0

    async def call(self, payloadtype: str, key, **payload: Any) -> Any:  # type: ignore[no-untyped-def]
        try:
            result = await self.rpc.post(sign_request(payloadtype, payload, key), timeout=30)
        except ColoniesError as exc:
            if payloadtype == "assignprocessmsg" and exc.status == 404:
                self.ok["assign-none"] += 1  # nothing to do: an answer, not a failure
                return None
            self.failed.append(f"{payloadtype}: {exc.status} {exc.message[:200]}")
            return None
        except Exception as exc:
            self.failed.append(f"{payloadtype}: {type(exc).__name__}: {exc}")
            return None
        self.ok[payloadtype] += 1
        return result

    async def submitter(self, until: float) -> None:
        c = self.colony
        while time.monotonic() < until:
            await self.call("submitfuncspecmsg", c.user, spec=function_spec(c, args=[1, "a"]))
            await asyncio.sleep(0.02)

    async def worker(self, until: float) -> None:
        c = self.colony
        while time.monotonic() < until:
            process = await self.call("assignprocessmsg", c.executor, colonyname=c.name, timeout=1)
            if process is not None:
                await self.call(
                    "closesuccessfulmsg", c.executor, processid=process["processid"], out=[2]
                )

    async def reader(self, until: float) -> None:
        c = self.colony
        while time.monotonic() < until:
            await self.call("getprocessesmsg", c.user, colonyname=c.name, count=10, state=2)
            await self.call("getcolonymsg", c.user, colonyname=c.name)
            await asyncio.sleep(0.1)

    async def packer(self, generatorid: str, until: float) -> None:
        while time.monotonic() < until:
            await self.call("packgeneratormsg", self.colony.user, generatorid=generatorid, arg="a")
            await asyncio.sleep(0.5)

    async def subscriber(self, until: float) -> None:
        c = self.colony
        body = sign_request(
            "subscribeprocessesmsg",
            {"colonyname": c.name, "executortype": "cli", "state": 2, "timeout": 600},
            c.user,
        )
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(self.url + "/pubsub") as ws:
                await ws.send_str(body.decode())
                while time.monotonic() < until:
                    try:
                        msg = await ws.receive(timeout=max(until - time.monotonic(), 0.01))
                    except asyncio.TimeoutError:
                        break
                    if msg.type != WSMsgType.TEXT or json.loads(msg.data)["error"]:
                        self.failed.append(f"subscription ended: {msg.type} {msg.data!r:.200}")
                        return
                    self.pushed += 1


class Mallory:
    """M's member (and owner), sending each hostile input again and again; every answer must
    be an envelope with a 4xx status (or the connection closed, for the stalled ones)."""

    def __init__(self, url: str, port: int, colony, server_key) -> None:  # type: ignore[no-untyped-def]
        self.url = url
        self.port = port
        self.colony = colony
        self.server_key = server_key
        self.answers: Counter[int] = Counter()
        self.bad_answers: list[str] = []

    async def raw(self, session: aiohttp.ClientSession, body: bytes, **headers: str) -> None:
        async with session.post(self.url + "/api", data=body, headers=headers) as reply:
            status, raw = reply.status, await reply.read()
        try:
            envelope = json.loads(raw)
            payload = json.loads(base64.b64decode(envelope["payload"]))
            good = envelope["error"] is True and payload["status"] == status
        except (ValueError, KeyError, TypeError):
            good = False
        self.answers[status] += 1
        if not good or not 400 <= status < 500:
            self.bad_answers.append(f"{status}: {raw[:200]!r}")

    def signed(self, payloadtype: str, key, **payload: Any) -> bytes:  # type: ignore[no-untyped-def]
        return sign_request(payloadtype, payload, key)

    def hostile_bodies(self) -> list[tuple[bytes, dict[str, str]]]:
        c, user = self.colony, self.colony.user
        spec = function_spec(c, nodename="a")
        chain = [
            function_spec(
                c, nodename=f"n{i}", conditions={"dependencies": [f"n{i - 1}"] if i else []}
            )
            for i in range(400)
        ][::-1]
        deep = "[" * 1000 + "]" * 1000
        text = base64.b64encode(
            b'{"msgtype": "getcolonymsg", "colonyname": "x", "a": ' + deep.encode() + b"}"
        ).decode()
        bodies = [
            # 1: deep nesting
            json.dumps({"signature": user.sign(text.encode()), "payloadtype": "getcolonymsg",
                        "payload": text}).encode(),
            b'{"signature": "", "x": ' + deep.encode() + b"}",
            self.signed("submitfuncspecmsg", user, spec=function_spec(c, args=nested(500))),
            # 2, 3: crons and generators that could never fire
            self.signed("addcronmsg", user, cron={"colonyname": c.name, "name": "c1",
                        "interval": 10**12, "workflowspec": _scheduled(c, "x")}),
            self.signed("addcronmsg", user, cron={"colonyname": c.name, "name": "c2",
                        "interval": -1, "cronexpression": "@every 99999999999h",
                        "workflowspec": _scheduled(c, "x")}),
            self.signed("addcronmsg", user, cron={"colonyname": c.name, "name": "c3",
                        "interval": -1, "cronexpression": "0 0 0 31 2 *",
                        "workflowspec": _scheduled(c, "x")}),
            self.signed("addcronmsg", user, cron={"colonyname": c.name, "name": "c4",
                        "interval": 1, "workflowspec": json.dumps(
                            {"colonyname": c.name,
                             "functionspecs": [function_spec(c, "f\x00", nodename="a")]})}),
            self.signed("addgeneratormsg", user, generator={"colonyname": c.name, "name": "g1",
                        "trigger": 1, "workflowspec": json.dumps(
                            {"colonyname": c.name,
                             "functionspecs": [{**spec, "priority": 99_999}]})}),
            self.signed("addgeneratormsg", user, generator={"colonyname": c.name, "name": "g2",
                        "trigger": 1, "workflowspec": json.dumps(
                            {"colonyname": c.name, "functionspecs": [spec, spec]})}),
            self.signed("addblueprintdefinitionmsg", c.owner, blueprintdefinition={
                "metadata": {"name": "d", "colonyname": c.name},
                "spec": {"names": {"kind": "K"},
                         "handler": {"executorType": "cli", "reconcileInterval": 10**12}}}),
            # 4: nonces
            self.signed("submitfuncspecmsg", user, spec=function_spec(c), nonce="n" * 20_000),
            self.signed("submitfuncspecmsg", user, spec=function_spec(c), nonce="n\x00"),
            # 6: ranges
            self.signed("submitfuncspecmsg", user, spec=function_spec(c, maxwaittime=10**12)),
            self.signed("getprocesshistmsg", user, colonyname=c.name, seconds=10**12, state=2),
            # risks: a large payload from a key nobody knows
            self.signed("addlogmsg", generate_private_key("ed25519"), processid="p" * 64,
                        message="m" * (4 << 20)),
        ]  # fmt: skip
        # 7: 1 MiB names of every kind
        for payloadtype, key, fields in long_named(c, self.server_key).values():
            bodies.append(self.signed(payloadtype, key, **fields))
        out = [(body, {}) for body in bodies]
        # 8 and the transport: encodings
        out.append((b"not deflate", {"Content-Encoding": "deflate"}))
        out.append((gzip.compress(b"\x00" * (8 << 20)), {"Content-Encoding": "gzip"}))
        # 5: a long chain listed children first is fine now: its answer is a 200
        self.chain = self.signed(
            "submitworkflowspecmsg", user, spec={"colonyname": c.name, "functionspecs": chain}
        )
        return out

    async def attack(self, until: float) -> None:
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < until:
                for body, headers in self.hostile_bodies():
                    await self.raw(session, body, **headers)
                async with session.post(self.url + "/api", data=self.chain) as reply:
                    self.answers[reply.status] += 1
                    if reply.status != 200:
                        self.bad_answers.append(f"chain: {reply.status}")

    async def stall(self, until: float) -> None:
        """Connections that send half their headers, or half a body, and then nothing."""
        held = []
        for i in range(20):
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            if i % 2:
                writer.write(b"POST /api HTTP/1.1\r\nHost: x\r\n")
            else:
                writer.write(b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
            held.append(writer)
        await asyncio.sleep(max(until - time.monotonic(), 0))
        for writer in held:
            writer.close()

    async def subscribe_and_lose_access(self, until: float) -> None:
        """M's own executor subscribes, then is removed: its subscription ends (and only it)."""
        c = self.colony
        body = self.signed(
            "subscribeprocessesmsg", c.executor,
            colonyname=c.name, executortype="cli", state=0, timeout=600,
        )  # fmt: skip
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(self.url + "/pubsub") as deep:
                await deep.send_str('{"signature": "", "x": ' + "[" * 1000 + "]" * 1000 + "}")
                msg = await deep.receive(timeout=10)
                envelope = json.loads(msg.data)
                if json.loads(base64.b64decode(envelope["payload"]))["status"] != 400:
                    self.bad_answers.append(f"deep frame: {msg.data!r:.200}")
            async with session.ws_connect(self.url + "/pubsub") as ws:
                await ws.send_str(body.decode())
                await asyncio.sleep(1)
                async with AsyncRpc(self.url) as rpc:
                    await rpc.call(
                        "removeexecutormsg", c.owner, colonyname=c.name,
                        executorname=c.executor_name,
                    )  # fmt: skip
                errors = []  # the error frames (pushed processes before the removal aside)
                while time.monotonic() < until:
                    msg = await ws.receive(timeout=max(until - time.monotonic(), 0.01))
                    if msg.type != WSMsgType.TEXT:
                        break
                    envelope = json.loads(msg.data)
                    if envelope["error"]:
                        errors.append(json.loads(base64.b64decode(envelope["payload"]))["status"])
                if errors != [403] or not ws.closed:
                    self.bad_answers.append(f"subscription: {errors}, closed: {ws.closed}")


async def test_a_noisy_neighbour_cannot_harm_another_colony(server, server_key):
    rpc = server.rpc
    victim_colony = await make_colony(rpc, server_key, name="victim")
    mallory_colony = await make_colony(rpc, server_key, name="mallory")
    pool = server.app[STATE_KEY].store.pool
    await _bad_legacy_schedules(pool, mallory_colony)  # an older server's unchecked schedules
    v = victim_colony
    await rpc.call(
        "addcronmsg", v.user,
        cron={"colonyname": v.name, "name": "tick", "interval": 1,
              "workflowspec": _scheduled(v, "cron-tick")},
    )  # fmt: skip
    generator = await rpc.call(
        "addgeneratormsg", v.user,
        generator={"colonyname": v.name, "name": "g", "trigger": 1,
                   "workflowspec": _scheduled(v, "generator-tick")},
    )  # fmt: skip

    victim = Victim(server.url, victim_colony)
    mallory = Mallory(server.url, server.port, mallory_colony, server_key)
    started = time.monotonic()
    wall_start = await pool.fetchval("SELECT now()")
    until = started + DURATION
    try:
        await asyncio.gather(
            victim.submitter(until),
            victim.worker(until),
            victim.worker(until),
            victim.reader(until),
            victim.packer(generator["generatorid"], until),
            victim.subscriber(until),
            mallory.attack(until),
            mallory.stall(until),
            mallory.subscribe_and_lose_access(until),
        )
    finally:
        await victim.rpc.close()
    wall_end = await pool.fetchval("SELECT now()")

    assert victim.failed == [], victim.failed[:20]
    assert victim.ok["submitfuncspecmsg"] > 50 and victim.ok["closesuccessfulmsg"] > 50, victim.ok
    assert victim.pushed > 0
    assert mallory.bad_answers == [], mallory.bad_answers[:20]
    assert sum(mallory.answers.values()) > 40, mallory.answers

    # V's cron kept time: a firing at least every CRON_SLACK seconds through the load.
    fired = [
        r["submissiontime"]
        for r in await pool.fetch(
            "SELECT submissiontime FROM processes WHERE colonyname = $1 AND funcname = $2"
            " AND submissiontime BETWEEN $3 AND $4 ORDER BY submissiontime",
            v.name, "cron-tick", wall_start, wall_end,
        )
    ]  # fmt: skip
    moments = [wall_start, *fired, wall_end]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    assert max(gaps) <= CRON_SLACK, gaps
    # V's generator turned every packed argument into a workflow.
    generated = await pool.fetchval(
        "SELECT count(*) FROM processes WHERE colonyname = $1 AND funcname = $2",
        v.name, "generator-tick",
    )  # fmt: skip
    assert generated >= victim.ok["packgeneratormsg"] - 2, (generated, victim.ok)
    print(  # the figures, with -s
        f"V: {sum(victim.ok.values())} answers {dict(victim.ok)}, {victim.pushed} pushes, "
        f"0 failed; cron: {len(fired)} firings, longest gap {max(gaps):.2f} s; "
        f"generator: {generated} workflows; M: {dict(mallory.answers)}"
    )
