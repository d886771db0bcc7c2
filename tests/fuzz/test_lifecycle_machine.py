"""A Hypothesis state machine over the process lifecycle against a real server and database:
submit, assign, close, fail, cancel and execution timeouts in any order. Invariants: a process is
assigned to at most one executor per attempt, finished processes never come back, and the
colony's statistics always match the model."""

from __future__ import annotations

import asyncio
import collections
import threading
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from colonies.client import Client, ColoniesError
from colonies.core import Colony, Conditions, Executor, FunctionSpec, ProcessState, User, utcnow
from colonies.crypto import generate_private_key
from colonies.server.app import STATE_KEY
from tests.fuzz.test_decoding_properties import EXAMPLES
from tests.helpers import TEMPLATE_DB, make_config, start_server


class ServerThread:
    """The real server on its own event loop, so the state machine can call it synchronously."""

    def __init__(self, db_url: str, server_key) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.config = make_config(db_url, server_key)
        self.runner, self.app = self.run(start_server(self.config))
        self.url = f"http://127.0.0.1:{self.config.port}"
        # Only the machine's own rule passes deadlines: the leader's timer would change the
        # state behind the model's back (and make the examples irreproducible).
        leadership = self.app[STATE_KEY].leadership
        assert leadership is not None
        self.run(leadership.stop())

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def live(pg, server_key):
    name = "fuzz_" + uuid.uuid4().hex[:8]
    pg.create_database(name, template=TEMPLATE_DB)
    server = ServerThread(pg.dsn(name), server_key)
    yield server, server_key
    server.close()
    pg.drop_database(name)


class Lifecycle(RuleBasedStateMachine):
    live: tuple[ServerThread, object]

    @initialize()
    def colony(self) -> None:
        server, server_key = self.live
        self.server = server
        self.name = "c" + uuid.uuid4().hex[:10]
        owner, self.user = generate_private_key(), generate_private_key()
        self.executors = [generate_private_key(), generate_private_key()]
        with Client(server.url, server_key) as admin:
            admin.add_colony(Colony(colonyid=owner.id, name=self.name))
            admin.add_user(User(colonyname=self.name, userid=self.user.id, name="u"), key=owner)
            for i, key in enumerate(self.executors):
                admin.add_executor(
                    Executor(executorid=key.id, executorname=f"x{i}", executortype="t",
                             colonyname=self.name), key=owner)  # fmt: skip
                admin.approve_executor(self.name, f"x{i}", key=owner)
        self.clients = {k.id: Client(server.url, k) for k in [self.user, *self.executors]}
        self.waiting: set[str] = set()
        self.running: dict[str, str] = {}  # processid -> executor id
        self.finished: dict[str, int] = {}
        self.attempts: collections.Counter[tuple[str, int]] = collections.Counter()
        self.order: list[str] = []  # submission order: draws must not depend on random IDs

    def pick(self, data, among) -> str:
        return data.draw(st.sampled_from([pid for pid in self.order if pid in among]))

    def teardown(self) -> None:
        for client in getattr(self, "clients", {}).values():
            client.close()

    def client(self, key) -> Client:
        return self.clients[key.id]

    @rule(timed=st.booleans())
    def submit(self, timed: bool) -> None:
        spec = FunctionSpec(
            funcname="f", maxexectime=1 if timed else -1, maxwaittime=-1, maxretries=-1,
            conditions=Conditions(colonyname=self.name, executortype="t"),
        )  # fmt: skip
        pid = self.client(self.user).submit(spec).processid
        self.waiting.add(pid)
        self.order.append(pid)

    @rule(i=st.integers(0, 1))
    def assign(self, i: int) -> None:
        key = self.executors[i]
        process = self.client(key).assign(self.name, -1)
        if process is None:
            assert not self.waiting, "a waiting process was not handed out"
            return
        assert process.processid in self.waiting, "assigned something not waiting"
        self.attempts[(process.processid, process.retries)] += 1
        self.waiting.discard(process.processid)
        self.running[process.processid] = key.id

    def _finish(self, data, how: str) -> None:
        pid = self.pick(data, self.running)
        owner = self.running[pid]
        client = self.clients[owner]
        if how == "close":
            client.close_successful(pid, [1])
            self.finished[pid] = ProcessState.SUCCESS
        else:
            client.close_failed(pid, ["no"])
            self.finished[pid] = ProcessState.FAILED
        del self.running[pid]

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def close(self, data) -> None:
        self._finish(data, "close")

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def fail(self, data) -> None:
        self._finish(data, "fail")

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def wrong_executor_cannot_close(self, data) -> None:
        pid = self.pick(data, self.running)
        other = next(k for k in self.executors if k.id != self.running[pid])
        with pytest.raises(ColoniesError) as err:
            self.client(other).close_successful(pid, [])
        assert err.value.status == 403

    @precondition(lambda self: self.waiting or self.running)
    @rule(data=st.data())
    def cancel(self, data) -> None:
        pid = self.pick(data, self.waiting | set(self.running))
        self.client(self.user).cancel_process(pid)
        self.waiting.discard(pid)
        self.running.pop(pid, None)
        self.finished[pid] = ProcessState.CANCELLED

    @rule()
    def execution_deadlines_pass(self) -> None:
        store = self.server.app[STATE_KEY].store
        term = self.server.run(store.ticks.current_term())
        self.server.run(store.ticks.deadlines(term, utcnow() + timedelta(seconds=2)))
        for pid in list(self.running):
            process = self.client(self.user).get_process(pid)
            if process.state == ProcessState.WAITING:  # reclaimed: a new attempt
                del self.running[pid]
                self.waiting.add(pid)

    @invariant()
    def one_executor_per_attempt(self) -> None:
        assert all(n == 1 for n in getattr(self, "attempts", {}).values())

    @invariant()
    def statistics_match_the_model(self) -> None:
        if not hasattr(self, "clients"):
            return
        stats = self.client(self.user).colony_statistics(self.name)
        finished = collections.Counter(self.finished.values())
        assert stats.waitingprocesses == len(self.waiting)
        assert stats.runningprocesses == len(self.running)
        assert stats.successfulprocesses == finished[ProcessState.SUCCESS]
        assert stats.failedprocesses == finished[ProcessState.FAILED]
        assert stats.cancelledprocesses == finished[ProcessState.CANCELLED]


def test_process_lifecycle_state_machine(live) -> None:
    Lifecycle.live = live
    Lifecycle.TestCase.settings = settings(
        max_examples=max(EXAMPLES // 10, 10),
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    Lifecycle.TestCase().runTest()
