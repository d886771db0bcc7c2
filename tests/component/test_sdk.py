"""Every method of the SDK against the real server, one test per area of AsyncClient.

Each client's requests pass through a tap that records their payload types, and each test ends
by checking that it sent every payload type its area declares: a method added to an area
without a test here fails its area's test. (tests/unit/test_sdk_coverage.py holds that the
areas cover every payload type the server serves.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

import pytest

from colonies.client import (
    AsyncClient,
    Client,
    ColoniesError,
    ConnectionLost,
    HttpTransport,
    Transport,
)
from colonies.client._base import SENDS, ClientBase
from colonies.client._blueprints import BlueprintMethods
from colonies.client._channels import ChannelMethods
from colonies.client._colonies import ColonyMethods
from colonies.client._files import FileMethods
from colonies.client._logs import LogMethods
from colonies.client._members import MemberMethods
from colonies.client._processes import ProcessMethods
from colonies.client._schedules import ScheduleMethods
from colonies.client._security import SecurityMethods
from colonies.client._server import ServerMethods
from colonies.client._workflows import WorkflowMethods
from colonies.core import (
    Allocations,
    Blueprint,
    BlueprintDefinition,
    BlueprintDefinitionSpec,
    BlueprintHandler,
    BlueprintMetadata,
    BlueprintNames,
    Capabilities,
    Cluster,
    Colony,
    Conditions,
    Executor,
    File,
    FunctionSpec,
    Hardware,
    Location,
    ProcessState,
    Project,
    User,
    WorkflowSpec,
)
from colonies.core import Function as FunctionObject
from colonies.crypto import generate_private_key
from colonies.rpc import decode_request
from tests.helpers import Colony as ColonyKeys
from tests.helpers import RunningServer, eventually, expect_error, make_colony

# Every area the client is assembled from (client/_client.py).
AREAS = [area for area in AsyncClient.__bases__ if area is not ClientBase]


def area_types(area: type[ClientBase]) -> set[str]:
    return {t for member in vars(area).values() for t in getattr(member, SENDS, ())}


def test_every_area_has_a_test_here() -> None:
    areas = {
        c
        for c in AsyncClient.__mro__
        if issubclass(c, ClientBase) and c not in (AsyncClient, ClientBase)
    }
    assert areas == set(AREAS)


class Tap(Transport):
    """The real HTTP transport, recording each payload type sent; ``cut`` ends the first
    subscription after that many frames with a lost connection."""

    def __init__(self, url: str, sent: set[str], cut: int | None = None) -> None:
        self.inner = HttpTransport(url)
        self.sent = sent
        self.cut = cut

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        self.sent.add(decode_request(envelope).payloadtype)
        return await self.inner.request(envelope, timeout)

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        self.sent.add(decode_request(envelope).payloadtype)
        frames = self.inner.subscribe(envelope)
        async with contextlib.aclosing(frames):
            count = 0
            async for frame in frames:
                yield frame
                count += 1
                if self.cut is not None and count >= self.cut:
                    self.cut = None
                    raise ConnectionLost("cut by the test")

    async def health(self, timeout: float) -> bool:
        return await self.inner.health(timeout)

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Sdk:
    server: RunningServer
    colony: ColonyKeys
    server_key: object
    sent: set[str] = field(default_factory=set)
    clients: list[AsyncClient] = field(default_factory=list)

    def client(self, key: object, cut: int | None = None) -> AsyncClient:
        client = AsyncClient(self.server.url, key, transport=Tap(self.server.url, self.sent, cut))  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    @property
    def user(self) -> AsyncClient:
        return self.client(self.colony.user)

    @property
    def executor(self) -> AsyncClient:
        return self.client(self.colony.executor)

    @property
    def owner(self) -> AsyncClient:
        return self.client(self.colony.owner)

    @property
    def admin(self) -> AsyncClient:
        return self.client(self.server_key)

    def covered(self, area: type[ClientBase]) -> None:
        missing = area_types(area) - self.sent
        assert not missing, f"{area.__name__}: not exercised here: {sorted(missing)}"


@pytest.fixture
async def sdk(server: RunningServer, server_key: object) -> AsyncIterator[Sdk]:
    colony = await make_colony(server.rpc, server_key)  # type: ignore[arg-type]
    state = Sdk(server, colony, server_key)
    try:
        yield state
    finally:
        await asyncio.gather(*(c.close() for c in state.clients))


def spec(
    colony: ColonyKeys, funcname: str = "f", executortype: str = "", **extra: object
) -> FunctionSpec:
    return FunctionSpec(
        funcname=funcname,
        maxexectime=-1,
        maxwaittime=-1,
        maxretries=-1,
        conditions=Conditions(
            colonyname=colony.name, executortype=executortype or colony.executor_type
        ),
        **extra,  # type: ignore[arg-type]
    )


# --- areas ------------------------------------------------------------------------------------
async def test_server(sdk: Sdk) -> None:
    anonymous = sdk.client(None)
    assert (await anonymous.version())["buildversion"]
    info = await anonymous.server_info()
    assert info.backends and info.backends[0].port == sdk.server.port
    assert await anonymous.health()
    admin = sdk.admin
    stats = await admin.statistics()
    assert stats.colonies == 1 and stats.executors == 1

    # The leader is named once the server's election has run (later under load).
    async def named() -> Cluster | None:
        cluster = await admin.cluster()
        return cluster if cluster.leader.name else None

    cluster = await eventually(named, "a leader named", timeout=30)
    assert [n.name for n in cluster.nodes] == [cluster.leader.name]
    await expect_error(sdk.user.statistics(), 403)
    sdk.covered(ServerMethods)


async def test_colonies(sdk: Sdk) -> None:
    admin, owner_key = sdk.admin, generate_private_key()
    added = await admin.add_colony(Colony(colonyid=owner_key.id, name="second"))
    assert added.name == "second"
    assert sorted(c.name for c in await admin.get_colonies()) == ["second", sdk.colony.name]
    user = sdk.user
    assert (await user.get_colony(sdk.colony.name)).colonyid == sdk.colony.owner.id
    assert (await user.colony_statistics(sdk.colony.name)).executors == 1
    owner = sdk.owner
    assert await user.assignments_paused(sdk.colony.name) is False
    await owner.pause_assignments(sdk.colony.name)
    assert await user.assignments_paused(sdk.colony.name) is True
    await expect_error(user.pause_assignments(sdk.colony.name), 403)
    await owner.resume_assignments(sdk.colony.name)
    assert await user.assignments_paused(sdk.colony.name) is False
    await admin.remove_colony("second")
    assert [c.name for c in await admin.get_colonies()] == [sdk.colony.name]
    sdk.covered(ColonyMethods)


async def test_members(sdk: Sdk) -> None:
    colony, owner, user = sdk.colony, sdk.owner, sdk.user
    worker = generate_private_key()
    new = Executor(
        executorid=worker.id, executorname="w2", executortype="gpu", colonyname=colony.name
    )
    added = await owner.add_executor(new)
    assert added.state == 0  # PENDING
    await owner.approve_executor(colony.name, "w2")
    assert (await user.get_executor(colony.name, "w2")).state == 1
    assert (await user.get_executor_by_id(colony.name, worker.id)).executorname == "w2"
    as_worker = sdk.client(worker)
    capabilities = Capabilities(hardware=[Hardware(model="a100", cores=8)])
    await as_worker.update_executor(colony.name, "w2", capabilities)
    allocations = Allocations(projects={"p": Project(usedcpu=2)})
    await as_worker.report_allocations(colony.name, "w2", allocations)
    got = await user.get_executor(colony.name, "w2")
    assert got.capabilities.hardware[0].model == "a100"
    assert got.allocations.projects["p"].usedcpu == 2
    await owner.reject_executor(colony.name, "w2")
    assert (await user.get_executor(colony.name, "w2")).state == 2
    await owner.remove_executor(colony.name, "w2")
    assert [e.executorname for e in await user.get_executors(colony.name)] == [colony.executor_name]

    bob = generate_private_key()
    await owner.add_user(User(colonyname=colony.name, userid=bob.id, name="bob", email="b@x"))
    assert sorted(u.name for u in await user.get_users(colony.name)) == ["alice", "bob"]
    assert (await user.get_user(colony.name, "bob")).email == "b@x"
    assert (await user.get_user_by_id(colony.name, bob.id)).name == "bob"
    await owner.remove_user(colony.name, "bob")
    await expect_error(user.get_user(colony.name, "bob"), 404)

    loc = await owner.add_location(Location(name="lab", colonyname=colony.name, long=1.5, lat=2))
    assert loc.locationid
    assert (await user.get_location(colony.name, "lab")).long == 1.5
    assert [x.name for x in await user.get_locations(colony.name)] == ["lab"]
    await owner.remove_location(colony.name, "lab")
    assert await user.get_locations(colony.name) == []
    sdk.covered(MemberMethods)


async def test_processes(sdk: Sdk) -> None:
    colony, user, executor = sdk.colony, sdk.user, sdk.executor
    function = FunctionObject(
        executorname=colony.executor_name, colonyname=colony.name, funcname="f"
    )
    fn = await executor.add_function(function)
    assert [f.funcname for f in await user.get_functions(colony.name)] == ["f"]

    watched: list[str] = []

    async def watch() -> None:
        async for p in user.subscribe_processes(colony.name, ProcessState.SUCCESS, timeout=15):
            watched.append(p.processid)
            return

    watching = asyncio.create_task(watch())
    await asyncio.sleep(0.3)  # subscribed before the change
    first = await user.submit(spec(colony, args=[1]))
    assert [p.processid for p in await user.get_processes(colony.name)] == [first.processid]
    waiting = asyncio.create_task(user.wait(first.processid, ProcessState.SUCCESS, 15))
    got = await executor.assign(colony.name, 5)
    assert got is not None and got.processid == first.processid
    await executor.set_output(first.processid, ["partial"])
    await executor.close_successful(first.processid, ["done"])
    done = await waiting
    assert done is not None and done.output == ["done"]
    await asyncio.wait_for(watching, 15)
    assert watched == [first.processid]
    history = await user.get_process_history(colony.name, 60, ProcessState.SUCCESS)
    assert [p.processid for p in history] == [first.processid]

    second = await user.submit(spec(colony))
    assert await executor.assign(colony.name, 5) is not None
    await executor.close_failed(second.processid, ["broken"])
    assert (await user.get_process(second.processid)).errors == ["broken"]
    third = await user.submit(spec(colony))
    await user.cancel_process(third.processid)
    assert (await user.get_process(third.processid)).state == ProcessState.CANCELLED
    await user.remove_process(second.processid)
    await expect_error(user.get_process(second.processid), 404)
    await sdk.owner.remove_all_processes(colony.name)
    assert await user.get_processes(colony.name, ProcessState.SUCCESS) == []
    assert await executor.assign(colony.name, 1) is None  # nothing left: None, not an error
    # The executor fast path (docs/protocol.md §7.21): several at once, close and take the next.
    assert await executor.assign_many(colony.name, 2, timeout=-1) == []
    fourth, fifth = [await user.submit(spec(colony)) for _ in range(2)]
    got = await executor.assign_many(colony.name, 1, timeout=-1)
    assert [p.processid for p in got] == [fourth.processid]
    nxt = await executor.close_and_assign(fourth.processid, ["4"])
    assert [p.processid for p in nxt] == [fifth.processid]
    assert await executor.close_and_assign(fifth.processid, errors=["5"], count=0) == []
    await executor.remove_function(fn.functionid)
    assert await user.get_functions(colony.name) == []
    sdk.covered(ProcessMethods)


async def test_workflows(sdk: Sdk) -> None:
    colony, user, executor = sdk.colony, sdk.user, sdk.executor
    first = spec(colony, "a", nodename="a")
    second = spec(colony, "b", nodename="b")
    second.conditions.dependencies = ["a"]
    graph = await user.submit_workflow(
        WorkflowSpec(colonyname=colony.name, functionspecs=[first, second])
    )
    assert len(graph.processids) == 2
    assert [g.processgraphid for g in await user.get_workflows(colony.name)] == [
        graph.processgraphid
    ]
    root = await executor.assign(colony.name, 5)
    assert root is not None and root.spec.funcname == "a"
    child = await executor.add_child(
        graph.processgraphid, root.processid, spec(colony, "c"), insert=True
    )
    assert child.parents == [root.processid]
    assert child.processid in (await user.get_workflow(graph.processgraphid)).processids
    await executor.close_successful(root.processid, ["x"])
    running = await user.get_workflow(graph.processgraphid)
    assert running.state == ProcessState.RUNNING
    await user.cancel_workflow(graph.processgraphid)
    assert (await user.get_workflow(graph.processgraphid)).state == ProcessState.CANCELLED
    await user.remove_workflow(graph.processgraphid)
    await expect_error(user.get_workflow(graph.processgraphid), 404)
    again = await user.submit_workflow(WorkflowSpec(colonyname=colony.name, functionspecs=[first]))
    await sdk.owner.remove_all_workflows(colony.name, ProcessState.WAITING)
    await expect_error(user.get_workflow(again.processgraphid), 404)
    sdk.covered(WorkflowMethods)


async def test_schedules(sdk: Sdk) -> None:
    colony, user = sdk.colony, sdk.user
    workflow = WorkflowSpec(functionspecs=[spec(colony, "tick", nodename="tick")])
    with pytest.raises(ValueError):
        await user.add_cron(colony.name, "neither", workflow)
    cron = await user.add_cron(colony.name, "every-hour", workflow, interval=3600)
    nightly = await user.add_cron(colony.name, "nightly", workflow, expression="0 0 3 * * *",
                                  wait_for_previous=True)  # fmt: skip
    assert nightly.waitforprevprocessgraph and nightly.interval == -1
    assert json.loads((await user.get_cron(cron.cronid)).workflowspec)["colonyname"] == colony.name
    assert sorted(c.name for c in await user.get_crons(colony.name)) == ["every-hour", "nightly"]
    ran = await user.run_cron(cron.cronid)
    assert ran.prevprocessgraphid
    assert (await user.get_workflow(ran.prevprocessgraphid)).state == ProcessState.WAITING
    await user.remove_cron(cron.cronid)
    await user.remove_cron(nightly.cronid)
    assert await user.get_crons(colony.name) == []

    generator = await user.add_generator(colony.name, "pairs", workflow, trigger=2)
    assert (await user.resolve_generator(colony.name, "pairs")).generatorid == generator.generatorid
    await user.pack_generator(generator.generatorid, "one")
    assert (await user.get_generator(generator.generatorid)).queuesize == 1
    await user.pack_generator(generator.generatorid, "two")

    async def started() -> bool:
        graphs = await user.get_workflows(colony.name)
        return any(g.processgraphid != ran.prevprocessgraphid for g in graphs)

    await eventually(started, "a workflow started by the generator")
    waiting = await user.get_processes(colony.name)
    assert ["one", "two"] in [p.spec.args for p in waiting]
    assert [g.name for g in await user.get_generators(colony.name)] == ["pairs"]
    await user.remove_generator(generator.generatorid)
    assert await user.get_generators(colony.name) == []
    sdk.covered(ScheduleMethods)


async def test_logs(sdk: Sdk) -> None:
    colony, user, executor = sdk.colony, sdk.user, sdk.executor
    p = await user.submit(spec(colony))
    assert await executor.assign(colony.name, 5) is not None
    attribute = await executor.add_attribute(p.processid, "color", "blue")
    assert (await user.get_attribute(attribute.attributeid)).value == "blue"
    await executor.add_log(p.processid, "first line")
    await executor.add_log(p.processid, "second line")
    await executor.add_executor_log(colony.name, colony.executor_name, "idle")
    lines = await user.get_logs(colony.name, processid=p.processid)
    assert [entry.message for entry in lines] == ["first line", "second line"]
    latest = await user.get_logs(colony.name, processid=p.processid, count=1, latest=True)
    assert [entry.message for entry in latest] == ["second line"]
    own = await user.get_logs(colony.name, executor_name=colony.executor_name)
    assert "idle" in [entry.message for entry in own]
    found = await user.search_logs(colony.name, "second")
    assert [entry.message for entry in found] == ["second line"]
    sdk.covered(LogMethods)


async def test_files(sdk: Sdk) -> None:
    colony, user = sdk.colony, sdk.user

    def file(name: str, checksum: str) -> File:
        return File(colonyname=colony.name, label="/data", name=name, size=3, checksum=checksum,
                    checksumalg="SHA256")  # fmt: skip

    a1 = await user.add_file(file("a.txt", "1"))
    a2 = await user.add_file(file("a.txt", "2"))
    await user.add_file(file("b.txt", "3"))
    assert [f.fileid for f in await user.get_file(colony.name, label="/data", name="a.txt")] == [
        a2.fileid
    ]
    every = await user.get_file(colony.name, label="/data", name="a.txt", latest=False)
    assert [f.fileid for f in every] == [a2.fileid, a1.fileid]
    assert sorted(f.name for f in await user.get_files(colony.name, "/data")) == ["a.txt", "b.txt"]
    assert [(x.name, x.files) for x in await user.get_file_labels(colony.name)] == [("/data", 2)]
    snapshot = await user.create_snapshot(colony.name, "/data", "v1")
    assert sorted(snapshot.fileids) == sorted(
        [a2.fileid, (await user.get_file(colony.name, label="/data", name="b.txt"))[0].fileid]
    )
    assert (await user.get_snapshot(colony.name, name="v1")).snapshotid == snapshot.snapshotid
    await user.create_snapshot(colony.name, "/data", "v2")
    await user.remove_snapshot(colony.name, snapshotid=snapshot.snapshotid)
    assert [s.name for s in await user.get_snapshots(colony.name)] == ["v2"]
    await user.remove_all_snapshots(colony.name)
    assert await user.get_snapshots(colony.name) == []
    await user.remove_file(colony.name, label="/data", name="a.txt")
    assert [f.name for f in await user.get_files(colony.name, "/data")] == ["b.txt"]
    sdk.covered(FileMethods)


async def test_blueprints(sdk: Sdk) -> None:
    colony, user, owner = sdk.colony, sdk.user, sdk.owner
    definition = BlueprintDefinition(
        metadata=BlueprintMetadata(name="things", colonyname=colony.name),
        spec=BlueprintDefinitionSpec(
            names=BlueprintNames(kind="Thing"),
            schema={"type": "object", "properties": {"size": {"type": "integer"}}},
            handler=BlueprintHandler(executorType=colony.executor_type),
        ),
    )
    await owner.add_blueprint_definition(definition)
    assert (await user.get_blueprint_definition(colony.name, "things")).spec.names.kind == "Thing"
    assert [d.metadata.name for d in await user.get_blueprint_definitions(colony.name)] == [
        "things"
    ]
    thing = Blueprint(kind="Thing", metadata=BlueprintMetadata(name="t1", colonyname=colony.name),
                      spec={"size": 1})  # fmt: skip
    added = await user.add_blueprint(thing)
    assert added.metadata.generation == 1
    added.spec["size"] = 2
    updated = await user.update_blueprint(added)
    assert updated.metadata.generation == 2
    await user.update_blueprint_status(colony.name, "t1", {"ready": True})
    assert (await user.get_blueprint(colony.name, "t1")).status == {"ready": True}
    assert [b.metadata.name for b in await user.get_blueprints(colony.name, "Thing")] == ["t1"]
    process = await user.reconcile_blueprint(colony.name, "t1", force=True)
    assert process.spec.kwargs["blueprintName"] == "t1"
    history = await user.get_blueprint_history(added.blueprintid)
    assert [h.changetype for h in history][-1] == "create" and len(history) >= 3
    await user.remove_blueprint(colony.name, "t1")
    await owner.remove_blueprint_definition(colony.name, "things")
    assert await user.get_blueprint_definitions(colony.name) == []
    sdk.covered(BlueprintMethods)


async def test_channels(sdk: Sdk) -> None:
    colony, user, executor = sdk.colony, sdk.user, sdk.executor
    p = await user.submit(spec(colony, channels=["out"]))
    assert await executor.assign(colony.name, 5) is not None
    for word in ("a", "b", "c"):
        await executor.channel_append(p.processid, "out", word)
    entries = await user.channel_read(p.processid, "out")
    assert [(e.sequence, e.payload) for e in entries] == [(1, b"a"), (2, b"b"), (3, b"c")]
    assert [e.payload for e in await user.channel_read(p.processid, "out", after=2)] == [b"c"]
    with pytest.raises(ValueError):
        await executor.channel_append(p.processid, "out", "x", kind="shout")

    # A subscription cut after its first frame resumes where it stopped: each entry once.
    reader = sdk.client(colony.user, cut=1)
    seen: list[bytes] = []

    async def read() -> None:
        async for entry in reader.subscribe_channel(p.processid, "out", timeout=15):
            seen.append(entry.payload)
            if entry.type == "end":
                return

    reading = asyncio.create_task(read())
    await eventually(lambda: len(seen) >= 3, "the backlog")
    await executor.channel_append(p.processid, "out", "d", in_reply_to=3)
    await executor.channel_append(p.processid, "out", b"", kind="end")
    await asyncio.wait_for(reading, 15)
    assert seen == [b"a", b"b", b"c", b"d", b""]
    assert (await user.channel_read(p.processid, "out", after=3))[0].inreplyto == 3
    sdk.covered(ChannelMethods)


async def test_security(sdk: Sdk) -> None:
    colony = sdk.colony
    new_user, new_executor, new_owner, new_admin = (generate_private_key() for _ in range(4))
    await sdk.user.change_user_id(colony.name, new_user.id)
    await expect_error(sdk.user.get_colony(colony.name), 403)
    assert (await sdk.client(new_user).get_colony(colony.name)).name == colony.name
    await sdk.executor.change_executor_id(colony.name, new_executor.id)
    assert await sdk.client(new_executor).assign(colony.name, 1) is None
    await sdk.owner.change_colony_id(colony.name, new_owner.id)
    await expect_error(sdk.owner.pause_assignments(colony.name), 403)
    await sdk.client(new_owner).pause_assignments(colony.name)
    await sdk.admin.change_server_id(new_admin.id)
    await expect_error(sdk.admin.get_colonies(), 403)
    assert [c.name for c in await sdk.client(new_admin).get_colonies()] == [colony.name]
    sdk.covered(SecurityMethods)


# --- the sync facade --------------------------------------------------------------------------
async def test_the_sync_facade(sdk: Sdk) -> None:
    """The same methods without await; a subscription is a plain iterator."""
    colony = sdk.colony

    def work() -> list[bytes]:
        with (
            Client(sdk.server.url, colony.user) as user,
            Client(sdk.server.url, colony.executor) as executor,
        ):
            p = user.submit(spec(colony, channels=["out"]))
            assert executor.assign(colony.name, 5) is not None
            executor.channel_append(p.processid, "out", "hi")
            executor.channel_append(p.processid, "out", "", kind="end")
            payloads = []
            for entry in user.subscribe_channel(p.processid, "out", timeout=10):
                payloads.append(entry.payload)
                if entry.type == "end":
                    break
            with pytest.raises(ColoniesError) as err:
                user.get_process("0" * 64)
            assert err.value.status == 404
            return payloads

    assert await asyncio.to_thread(work) == [b"hi", b""]
