"""A steady, recorded client workload for the failover drills and the chaos soak.

Processes, two-step workflows, a 1-second cron and a generator, worked by executors that
long-poll, "run" what they get and close it. Every client operation is recorded with its
wall-clock start and end and its outcome, so a checker (integration/_history.py) can hold the
history against the database afterwards.

Submissions, workflow submissions and generator packs are sent once, without the SDK's retries:
an acknowledged one must exist exactly once, an unacknowledged one (its reply lost, say) at most
once; each carries a token (its label, or the packed argument) to tell them apart. Executors
use the SDK's retries, as real ones do.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from colonies.client import AsyncClient, AsyncRpc, ColoniesError, TransportError
from colonies.core import Colony, Executor, User
from colonies.crypto import PrivateKey, generate_private_key

COLONY = "soak"
EXECUTOR_TYPE = "soak"
MAX_EXEC_TIME = 4  # seconds: a process whose executor never heard of it is reclaimed
ASSIGN_TIMEOUT = 2  # seconds of a long poll
CRON_NAME = "every-second"
GENERATOR_NAME = "packs-of-three"
GENERATOR_TRIGGER = 3
GENERATOR_TIMEOUT = 1  # seconds: a partial pack goes after this long

# What a client sees when the fleet cannot answer: refused, reset, timed out, or an error reply.
CLIENT_FAILURES = (ColoniesError, TransportError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation: what, when (wall clock, seconds) and how it ended."""

    kind: str
    start: float
    end: float
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class Assignment:
    processid: str
    attempt: int  # the process's retries when it was handed out: one per attempt
    executor: str
    at: float


@dataclass
class LoadRecord:
    ops: list[Op] = field(default_factory=list)
    # Acknowledged: token -> the ID the reply gave.
    processes: dict[str, str] = field(default_factory=dict)
    workflows: dict[str, str] = field(default_factory=dict)
    packs: set[str] = field(default_factory=set)
    # Tried (acknowledged or not), by kind: "submit", "workflow", "pack".
    attempted: dict[str, set[str]] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)
    closed: list[tuple[str, str]] = field(default_factory=list)  # (processid, executor)

    def op(self, kind: str, start: float, error: BaseException | None = None) -> None:
        self.ops.append(Op(kind, start, time.time(), error is None, _describe(error)))

    def tried(self, kind: str, token: str) -> None:
        self.attempted.setdefault(kind, set()).add(token)

    def first_success_after(self, moment: float, kinds: Iterable[str] = ("submit",)) -> float:
        """When the first operation of ``kinds`` started after ``moment`` succeeded (its end);
        inf when none did."""
        wanted = set(kinds)
        ends = [o.end for o in self.ops if o.ok and o.kind in wanted and o.start >= moment]
        return min(ends, default=float("inf"))


def _describe(error: BaseException | None) -> str:
    if error is None:
        return ""
    if isinstance(error, ColoniesError):
        return f"{error.status}: {error.message}"[:200]
    return f"{type(error).__name__}: {error}"[:200]


def _function_spec(funcname: str, nodename: str = "", label: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "funcname": funcname,
        "label": label,
        "maxexectime": MAX_EXEC_TIME,
        "maxwaittime": -1,
        "maxretries": -1,
        "conditions": {"colonyname": COLONY, "executortype": EXECUTOR_TYPE},
    }
    if nodename:
        spec["nodename"] = nodename
    return spec


def _workflow(*specs: dict[str, Any]) -> dict[str, Any]:
    return {"colonyname": COLONY, "functionspecs": list(specs)}


@dataclass
class SteadyLoad:
    """``await setup()``, ``start_executors()``, then ``await run(seconds)`` any number of times,
    ``await drain(timeout)`` and ``await stop()``."""

    url: str
    server_key: str
    executors: int = 3
    submit_rate: float = 8.0  # per second
    workflow_rate: float = 1.0
    pack_rate: float = 2.0
    with_cron: bool = True
    with_generator: bool = True
    owner: PrivateKey = field(default_factory=generate_private_key)
    user: PrivateKey = field(default_factory=generate_private_key)
    record: LoadRecord = field(default_factory=LoadRecord)

    def __post_init__(self) -> None:
        self.keys = [generate_private_key() for _ in range(self.executors)]
        self.generatorid = ""
        self._stop = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        # One send, no retries: the outcome the client saw is the outcome recorded.
        self._once = AsyncRpc(self.url, retry_attempts=1)

    # --- setup --------------------------------------------------------------------------------
    async def setup(self) -> None:
        async with AsyncClient(self.url, self.server_key, retry_seconds=30) as admin:
            await admin.add_colony(Colony(colonyid=self.owner.id, name=COLONY))
            await admin.add_user(
                User(colonyname=COLONY, userid=self.user.id, name="soak"), key=self.owner
            )
            for i, key in enumerate(self.keys):
                executor = Executor(
                    executorid=key.id, executorname=f"x{i}", executortype=EXECUTOR_TYPE,
                    colonyname=COLONY,
                )  # fmt: skip
                await admin.add_executor(executor, key=self.owner)
                await admin.approve_executor(COLONY, f"x{i}", key=self.owner)
        async with AsyncClient(self.url, self.user, retry_seconds=30) as client:
            if self.with_cron:
                await client.call(
                    "addcronmsg",
                    cron={
                        "colonyname": COLONY,
                        "name": CRON_NAME,
                        "interval": -1,
                        "cronexpression": "0/1 * * * * *",
                        "workflowspec": json.dumps(_workflow(_function_spec("cron", "cron"))),
                    },
                )
            if self.with_generator:
                generator = await client.call(
                    "addgeneratormsg",
                    generator={
                        "colonyname": COLONY,
                        "name": GENERATOR_NAME,
                        "workflowspec": json.dumps(_workflow(_function_spec("gen", "gen"))),
                        "trigger": GENERATOR_TRIGGER,
                        "timeout": GENERATOR_TIMEOUT,
                    },
                )
                self.generatorid = generator["generatorid"]

    # --- executors ----------------------------------------------------------------------------
    def start_executors(self) -> None:
        self._stop.clear()
        self._workers = [
            asyncio.create_task(self._executor(f"x{i}", key), name=f"executor-x{i}")
            for i, key in enumerate(self.keys)
        ]

    async def _executor(self, name: str, key: PrivateKey) -> None:
        async with AsyncRpc(self.url, retry_seconds=10) as rpc:
            while not self._stop.is_set():
                started = time.time()
                try:
                    process = await rpc.call(
                        "assignprocessmsg",
                        key,
                        _timeout=ASSIGN_TIMEOUT + 15,
                        colonyname=COLONY,
                        timeout=ASSIGN_TIMEOUT,
                        availablecpu="",
                        availablemem="",
                    )
                except ColoniesError as exc:
                    if exc.status != 404:  # 404: nothing to do
                        self.record.op("assign", started, exc)
                        await asyncio.sleep(0.1)
                    continue
                except CLIENT_FAILURES as exc:
                    self.record.op("assign", started, exc)
                    await asyncio.sleep(0.1)
                    continue
                self.record.op("assign", started)
                processid = process["processid"]
                self.record.assignments.append(
                    Assignment(processid, int(process["retries"]), name, time.time())
                )
                started = time.time()
                try:
                    await rpc.call("closesuccessfulmsg", key, processid=processid, out=[name])
                except CLIENT_FAILURES as exc:
                    # A 403: reclaimed meanwhile (a fault outlasted its deadline), another
                    # attempt closes it; anything else: the deadline reclaims it.
                    self.record.op("close", started, exc)
                    continue
                self.record.op("close", started)
                self.record.closed.append((processid, name))

    # --- the steady flow ----------------------------------------------------------------------
    async def run(self, seconds: float, stop: asyncio.Event | None = None) -> None:
        """Submit, submit workflows and pack for ``seconds`` (or until ``stop`` is set), each
        at its own rate."""
        until = time.monotonic() + seconds
        stop = stop or asyncio.Event()
        flows = [self._paced(self.submit_rate, until, stop, self._submit)]
        if self.workflow_rate > 0:
            flows.append(self._paced(self.workflow_rate, until, stop, self._submit_workflow))
        if self.with_generator and self.pack_rate > 0:
            flows.append(self._paced(self.pack_rate, until, stop, self._pack))
        await asyncio.gather(*flows)

    @staticmethod
    async def _paced(rate: float, until: float, stop: asyncio.Event, send: Any) -> None:
        """Start one ``send`` every 1/rate seconds until ``until``; each runs on its own, so a
        hanging request does not slow the flow (at most 50 are in flight)."""
        in_flight: set[asyncio.Task[None]] = set()
        next_at = time.monotonic()
        while next_at < until and not stop.is_set():
            if len(in_flight) < 50:
                task = asyncio.create_task(send())
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if in_flight:
            await asyncio.wait(in_flight, timeout=40)

    async def _submit(self) -> None:
        token = uuid.uuid4().hex
        self.record.tried("submit", token)
        started = time.time()
        try:
            process = await self._once.call(
                "submitfuncspecmsg", self.user, _timeout=30, spec=_function_spec("work", "", token)
            )
        except CLIENT_FAILURES as exc:
            self.record.op("submit", started, exc)
            return
        self.record.op("submit", started)
        self.record.processes[token] = process["processid"]

    async def _submit_workflow(self) -> None:
        token = uuid.uuid4().hex
        self.record.tried("workflow", token)
        first = _function_spec("step", "first", token)
        second = _function_spec("step", "second", token)
        second["conditions"]["dependencies"] = ["first"]
        started = time.time()
        try:
            graph = await self._once.call(
                "submitworkflowspecmsg", self.user, _timeout=30, spec=_workflow(first, second)
            )
        except CLIENT_FAILURES as exc:
            self.record.op("workflow", started, exc)
            return
        self.record.op("workflow", started)
        self.record.workflows[token] = graph["processgraphid"]

    async def _pack(self) -> None:
        token = uuid.uuid4().hex
        self.record.tried("pack", token)
        started = time.time()
        try:
            await self._once.call(
                "packgeneratormsg",
                self.user,
                _timeout=30,
                generatorid=self.generatorid,
                arg=token,
            )
        except CLIENT_FAILURES as exc:
            self.record.op("pack", started, exc)
            return
        self.record.op("pack", started)
        self.record.packs.add(token)

    # --- the end ------------------------------------------------------------------------------
    async def unfinished(self) -> int:
        """Processes of the colony still waiting or running (through the fleet)."""
        async with AsyncClient(self.url, self.user, retry_seconds=10) as client:
            stats = await client.colony_statistics(COLONY)
        return int(stats.waitingprocesses + stats.runningprocesses)

    async def drain(self, timeout: float) -> bool:
        """Until every process is finished (executors still working); False when some are
        not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if await self.unfinished() == 0:
                    return True
            except CLIENT_FAILURES:
                pass
            await asyncio.sleep(0.5)
        return False

    async def stop(self) -> None:
        self._stop.set()
        if self._workers:
            await asyncio.wait(self._workers, timeout=ASSIGN_TIMEOUT + 20)
            for task in self._workers:
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        await self._once.close()
