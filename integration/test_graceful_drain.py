"""A replica stops under load and no client notices: two real replicas (`colonies server start`)
on one PostgreSQL, clients spreading submit → assign → close cycles over the replicas that an
endpoint list says are ready, as Kubernetes routes through a Service.

The endpoint list is what the EndpointSlice controller and kube-proxy make of the readiness
probes: /ready polled every 0.25 s, and a replica that stopped being ready still routed to for
1 s more (the propagation delay to every node). Replica 0 then gets SIGTERM with
COLONIES_DRAIN_SECONDS=3 and COLONIES_PUBSUB_HEARTBEAT=1. Checked: no request fails and no
connection is refused or reset while it drains and goes; requests still reach it after SIGTERM
and succeed; a long poll waiting on it is answered (not cut); a WebSocket subscribed on it gets
heartbeat pings, then a clean 1001 close; it exits 0 after the drain.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from colonies.client import AsyncRpc, ColoniesError
from colonies.crypto import PrivateKey, generate_private_key, parse_private_key
from colonies.rpc import sign_request
from tests.support import DEV_SERVER_PRVKEY, free_port
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.drill

DRAIN = 3
PROPAGATION = 1.0  # seconds a replica that is no longer ready still gets traffic
COLONY = "drain"
WORKERS = 4


@dataclass
class Replica:
    name: str
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[Replica]]:
    with PostgresCluster() as pg:
        pg.start()
        pg.create_database("colonies")
        members = [Replica(f"r{i}", free_port(), tmp_path / f"r{i}.log") for i in range(2)]
        base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
        try:
            for replica in members:
                env = {
                    **base,
                    "COLONIES_DB_URL": pg.dsn("colonies"),
                    "COLONIES_SERVER_PRVKEY": DEV_SERVER_PRVKEY,
                    "COLONIES_SERVER_PORT": str(replica.port),
                    "COLONIES_SERVER_BIND": "127.0.0.1",
                    "COLONIES_REPLICA_NAME": replica.name,
                    "COLONIES_DRAIN_SECONDS": str(DRAIN),
                    "COLONIES_PUBSUB_HEARTBEAT": "1",
                    "COLONIES_DB_MAX_OPEN_CONNS": "20",
                    "PYTHONUNBUFFERED": "1",
                }
                with replica.log.open("ab") as log:
                    replica.proc = subprocess.Popen(
                        [sys.executable, "-m", "colonies.cli.main", "server", "start"],
                        env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )  # fmt: skip
            deadline = time.monotonic() + 30
            for replica in members:
                while _status(replica.url + "/ready") != 200:
                    assert replica.proc is not None and replica.proc.poll() is None, (
                        replica.log.read_text()
                    )
                    assert time.monotonic() < deadline, f"{replica.name} not ready"
                    time.sleep(0.1)
            yield members
        finally:
            for replica in members:
                if replica.proc is not None and replica.proc.poll() is None:
                    replica.proc.kill()
                    replica.proc.wait(10)


@dataclass
class Endpoints:
    """The replicas a Service routes to: ready ones, and for PROPAGATION seconds more the ones
    that stopped being ready."""

    replicas: list[Replica]
    routed: set[str] = field(default_factory=set)
    unready_since: dict[str, float] = field(default_factory=dict)
    seen_unready: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.routed = {r.name for r in self.replicas}

    async def watch(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                now = time.monotonic()
                for replica in self.replicas:
                    try:
                        async with session.get(
                            replica.url + "/ready", timeout=aiohttp.ClientTimeout(total=1)
                        ) as reply:
                            ready = reply.status == 200
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        ready = False
                    if ready:
                        self.unready_since.pop(replica.name, None)
                        self.routed.add(replica.name)
                        continue
                    self.seen_unready.add(replica.name)
                    since = self.unready_since.setdefault(replica.name, now)
                    if now - since >= PROPAGATION:
                        self.routed.discard(replica.name)
                await asyncio.sleep(0.25)

    def pick(self) -> Replica:
        names = sorted(self.routed)
        assert names, "no replica is routed to"
        chosen = random.choice(names)
        return next(r for r in self.replicas if r.name == chosen)


@dataclass
class Load:
    endpoints: Endpoints
    failures: list[str] = field(default_factory=list)
    served: list[tuple[float, str]] = field(default_factory=list)  # (time, replica) per success
    cycles: int = 0

    async def run(
        self, worker: int, stop: asyncio.Event, user: PrivateKey, executor: PrivateKey
    ) -> None:
        # One client per replica, each keeping its connections alive (as SDK clients do), and
        # no retries: every failure shows.
        clients = {r.name: AsyncRpc(r.url, retry_attempts=1) for r in self.endpoints.replicas}
        executortype = f"w{worker}"
        try:
            while not stop.is_set():
                try:
                    spec = {
                        "funcname": "f",
                        "conditions": {"colonyname": COLONY, "executortype": executortype},
                        "maxexectime": -1, "maxwaittime": -1, "maxretries": -1,
                    }  # fmt: skip
                    process = await self.call(clients, "submitfuncspecmsg", user, spec=spec)
                    assigned = await self.call(
                        clients, "assignprocessmsg", executor, colonyname=COLONY, timeout=-1
                    )
                    assert assigned["processid"] == process["processid"]
                    await self.call(
                        clients, "closesuccessfulmsg", executor,
                        processid=process["processid"], out=["ok"],
                    )  # fmt: skip
                    self.cycles += 1
                except Exception as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.1)
        finally:
            for client in clients.values():
                await client.close()

    async def call(
        self, clients: dict[str, AsyncRpc], payloadtype: str, key: PrivateKey, **payload: object
    ) -> dict:  # type: ignore[type-arg]
        replica = self.endpoints.pick()
        reply = await clients[replica.name].call(payloadtype, key, **payload)
        self.served.append((time.monotonic(), replica.name))
        return reply  # type: ignore[no-any-return]


async def _setup_colony(url: str) -> tuple[PrivateKey, list[PrivateKey], PrivateKey]:
    server_key = parse_private_key(DEV_SERVER_PRVKEY)
    owner, user = generate_private_key(), generate_private_key()
    executors = [generate_private_key() for _ in range(WORKERS + 1)]
    async with AsyncRpc(url) as rpc:
        await rpc.call("addcolonymsg", server_key, colony={"colonyid": owner.id, "name": COLONY})
        await rpc.call(
            "addusermsg", owner, user={"colonyname": COLONY, "userid": user.id, "name": "u"}
        )
        for i, key in enumerate(executors):
            executor = {"executorid": key.id, "executorname": f"e{i}",
                        "executortype": f"w{i}", "colonyname": COLONY}  # fmt: skip
            await rpc.call("addexecutormsg", owner, executor=executor)
            await rpc.call("approveexecutormsg", owner, colonyname=COLONY, executorname=f"e{i}")
    return user, executors, owner


async def test_a_replica_stops_under_load_unnoticed(replicas: list[Replica]) -> None:
    stopping, other = replicas
    user, executors, _ = await _setup_colony(other.url)
    endpoints = Endpoints(replicas)
    load = Load(endpoints)
    stop_load = asyncio.Event()
    watcher = asyncio.create_task(endpoints.watch(stop_load))
    workers = [
        asyncio.create_task(load.run(i, stop_load, user, executors[i])) for i in range(WORKERS)
    ]
    session = aiohttp.ClientSession()
    try:
        await asyncio.sleep(2)
        # On the replica that will stop: a long poll with nothing to get, and a quiet
        # subscription (executor type w{WORKERS}: no worker submits for it).
        idle = executors[WORKERS]
        async with AsyncRpc(stopping.url, retry_attempts=1) as direct:
            poll = asyncio.create_task(
                direct.call("assignprocessmsg", idle, colonyname=COLONY, timeout=60)
            )
            ws = await session.ws_connect(stopping.url + "/pubsub", autoping=False)
            subscription = {"colonyname": COLONY, "executortype": f"w{WORKERS}", "state": 0}
            await ws.send_str(
                sign_request(
                    "subscribeprocessesmsg", {**subscription, "timeout": 60}, user
                ).decode()
            )

            async def frames() -> list[tuple[WSMsgType, object, float]]:
                seen = []
                while True:
                    msg = await ws.receive(timeout=30)
                    seen.append((msg.type, msg.data, time.monotonic()))
                    if msg.type != WSMsgType.PING:
                        return seen
                    await ws.pong(msg.data)

            reader = asyncio.create_task(frames())
            await asyncio.sleep(1.5)
            cycles_before = load.cycles
            assert stopping.proc is not None
            sigterm = time.monotonic()
            stopping.proc.send_signal(signal.SIGTERM)

            with pytest.raises(ColoniesError) as err:
                await asyncio.wait_for(poll, DRAIN + 10)
            assert err.value.status == 404  # answered: poll again elsewhere
            poll_answered = time.monotonic() - sigterm

            code = await asyncio.to_thread(stopping.proc.wait, 30)
            exited = time.monotonic() - sigterm
            seen = await asyncio.wait_for(reader, 10)
            await ws.close()
        await asyncio.sleep(2)  # the load goes on with the other replica alone
    finally:
        stop_load.set()
        await asyncio.gather(*workers, watcher, return_exceptions=True)
        await session.close()

    log = stopping.log.read_text()
    assert load.failures == [], (load.failures[:10], log[-3000:])
    assert code == 0, log[-3000:]
    assert "Traceback" not in log
    assert DRAIN - 0.5 <= poll_answered <= DRAIN + 3, poll_answered
    assert DRAIN <= exited <= DRAIN + 10, exited
    assert stopping.name in endpoints.seen_unready  # /ready failed while it drained
    # Requests reached the stopping replica after SIGTERM (the propagation delay) and were
    # served; the fleet kept cycling throughout.
    late = [t for t, name in load.served if name == stopping.name and t > sigterm]
    assert late, "no request reached the draining replica"
    assert load.cycles > cycles_before + 20, (cycles_before, load.cycles)
    # The subscription: heartbeat pings, then "going away" at the end of the drain.
    kinds = [kind for kind, _, _ in seen]
    assert kinds[-1] == WSMsgType.CLOSE and seen[-1][1] == WSCloseCode.GOING_AWAY, seen
    assert kinds.count(WSMsgType.PING) >= 2, seen
    assert seen[-1][2] - sigterm >= DRAIN - 0.5
