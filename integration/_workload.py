"""A recorded client workload through the load balancer, and the checks run on its history.

Executors long-poll, close what they get and record every assignment with the attempt
(``retries``) it belongs to; a submitter records every process it created. Afterwards the
history must show: no process assigned twice in one attempt, none closed twice, none lost.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from dataclasses import dataclass, field

from colonies.client import AsyncClient, ColoniesError
from colonies.core import Colony, Conditions, Executor, FunctionSpec, ProcessState, User
from colonies.crypto import PrivateKey, generate_private_key

COLONY = "drill"
EXECUTOR_TYPE = "drill"


@dataclass
class History:
    submitted: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)  # every submission attempted (spec labels)
    assigned: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    closed: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)  # operations a client saw fail


@dataclass
class Workload:
    url: str
    server_key: str
    executors: int = 3
    owner: PrivateKey = field(default_factory=generate_private_key)
    user: PrivateKey = field(default_factory=generate_private_key)
    keys: list[PrivateKey] = field(default_factory=list)
    history: History = field(default_factory=History)

    async def setup(self) -> None:
        self.keys = [generate_private_key() for _ in range(self.executors)]
        async with AsyncClient(self.url, self.server_key) as admin:
            await admin.add_colony(Colony(colonyid=self.owner.id, name=COLONY))
            await admin.add_user(
                User(colonyname=COLONY, userid=self.user.id, name="u"), key=self.owner
            )
            for i, key in enumerate(self.keys):
                executor = Executor(
                    executorid=key.id, executorname=f"x{i}", executortype=EXECUTOR_TYPE,
                    colonyname=COLONY,
                )  # fmt: skip
                await admin.add_executor(executor, key=self.owner)
                await admin.approve_executor(COLONY, f"x{i}", key=self.owner)

    async def executor(self, key: PrivateKey, stop: asyncio.Event) -> None:
        async with AsyncClient(self.url, key, retry_seconds=30) as client:
            while not stop.is_set():
                try:
                    p = await client.assign(COLONY, 2)
                except (ColoniesError, OSError, asyncio.TimeoutError) as exc:
                    self.history.failures.append(f"assign: {exc!r}")
                    await asyncio.sleep(0.2)
                    continue
                if p is None:
                    continue
                self.history.assigned[(p.processid, p.retries)] += 1
                try:
                    await client.close_successful(p.processid, [p.processid])
                    self.history.closed[p.processid] += 1
                except ColoniesError as exc:
                    if exc.status == 403:  # reclaimed meanwhile after an outage: expected
                        continue
                    self.history.failures.append(f"close: {exc!r}")
                except (OSError, asyncio.TimeoutError) as exc:
                    self.history.failures.append(f"close: {exc!r}")

    async def submitter(self, count: int, per_second: float) -> None:
        spec = FunctionSpec(
            funcname="work",
            label="",
            maxexectime=4,  # a process held by a replica that died is reclaimed
            maxretries=-1,
            maxwaittime=-1,
            conditions=Conditions(colonyname=COLONY, executortype=EXECUTOR_TYPE),
        )
        async with AsyncClient(self.url, self.user, retry_seconds=30) as client:
            for _ in range(count):
                started = time.monotonic()
                # A token per submission: a reply lost on the way back (a replica killed after
                # committing) makes a retry submit again, so a process may exist that the
                # client never heard of; the token says it was still asked for.
                spec.label = uuid.uuid4().hex
                self.history.tokens.add(spec.label)
                try:
                    p = await client.submit(spec)
                    self.history.submitted.append(p.processid)
                except (ColoniesError, OSError, asyncio.TimeoutError) as exc:
                    self.history.failures.append(f"submit: {exc!r}")
                await asyncio.sleep(max(0.0, 1 / per_second - (time.monotonic() - started)))

    async def run(self, count: int, per_second: float, settle: float = 60.0) -> None:
        """Submit ``count`` processes while the executors work; return once all are done."""
        stop = asyncio.Event()
        workers = [asyncio.create_task(self.executor(k, stop)) for k in self.keys]
        try:
            await self.submitter(count, per_second)
            await self.wait_all_done(settle)
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)

    async def wait_all_done(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with AsyncClient(self.url, self.user, retry_seconds=30) as client:
            while time.monotonic() < deadline:
                unfinished = [
                    p
                    for state in (ProcessState.WAITING, ProcessState.RUNNING)
                    for p in await client.get_processes(COLONY, state, executortype=EXECUTOR_TYPE)
                ]
                if not unfinished:
                    return
                await asyncio.sleep(0.25)
        raise AssertionError(f"{len(unfinished)} processes unfinished after {timeout} s")

    async def check(self) -> None:
        h = self.history
        doubled = [k for k, n in h.assigned.items() if n > 1]
        assert not doubled, f"assigned twice in one attempt: {doubled[:5]}"
        assert max(h.closed.values(), default=0) <= 1, "a process was closed twice"
        async with AsyncClient(self.url, self.user, retry_seconds=30) as client:
            states: collections.Counter[int] = collections.Counter()
            for processid in h.submitted:
                states[(await client.get_process(processid)).state] += 1
            assert states == {ProcessState.SUCCESS: len(h.submitted)}, f"not all: {states}"
            # Every process that ran was asked for (no phantom work).
            for processid in set(h.closed) - set(h.submitted):
                label = (await client.get_process(processid)).spec.label
                assert label in h.tokens, f"{processid} was never submitted"
