"""The process lifecycle with the real pycolonies client against the real server subprocess,
and the same flows with the project's own Ed25519 SDK."""

from __future__ import annotations

import threading
import time

import pytest
from pycolonies import ColoniesConnectionError, func_spec

from colonies.client import Client
from colonies.core import Colony, Conditions, Executor, FunctionSpec, ProcessState, User
from colonies.crypto import generate_private_key
from tests.helpers import DEV_SERVER_PRVKEY

pytestmark = pytest.mark.compat


def test_executor_thread_and_client_wait(world):
    client, _, executor_key, _ = world
    errors: list[BaseException] = []

    def executor() -> None:
        try:
            process = client.assign("test", 10, executor_key)
            client.add_log(process.processid, "working", executor_key)
            client.close(process.processid, [*process.spec.args, "done"], executor_key)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=executor)
    worker.start()
    spec = func_spec(func="echo", args=["hello", 7], colonyname="test", executortype="cli")
    submitted = client.submit_func_spec(spec, executor_key)
    finished = client.wait(submitted, 10, executor_key)
    worker.join(15)
    assert not errors, errors
    assert finished.state == ProcessState.SUCCESS
    assert finished.output == ["hello", 7, "done"]
    logs = client.get_process_log("test", submitted.processid, 10, 0, executor_key)
    assert [entry["message"] for entry in logs] == ["working"]


def test_fail_with_errors_and_listing_by_state(world):
    client, _, key, _ = world
    spec = func_spec(func="f", args=[], colonyname="test", executortype="cli")
    ok = client.submit_func_spec(spec, key)
    bad = client.submit_func_spec(spec, key)
    waiting = client.list_processes("test", 10, 0, key)
    assert [p["processid"] for p in waiting] == [ok.processid, bad.processid]  # FIFO
    assert client.assign("test", 5, key).processid == ok.processid
    client.close(ok.processid, [], key)
    assert client.assign("test", 5, key).processid == bad.processid
    client.fail(bad.processid, ["broke", "badly"], key)
    failed = client.get_process(bad.processid, key)
    assert failed.state == ProcessState.FAILED and failed.errors == ["broke", "badly"]
    assert [p["processid"] for p in client.list_processes("test", 10, 2, key)] == [ok.processid]
    assert [p["processid"] for p in client.list_processes("test", 10, 3, key)] == [bad.processid]
    stats = client.stats("test", key)
    assert (stats["successfulprocesses"], stats["failedprocesses"]) == (1, 1)
    assert (stats["waitingprocesses"], stats["runningprocesses"]) == (0, 0)


def test_assign_timeout_message(world):
    client, _, key, _ = world
    started = time.monotonic()
    with pytest.raises(ColoniesConnectionError, match="No process available for assignment"):
        client.assign("test", 2, key)
    assert 1.5 < time.monotonic() - started < 5


def test_priority_attributes_output_and_removal(world):
    client, colony_key, key, _ = world
    low = client.submit_func_spec(func_spec("a", [], "test", "cli", priority=0), key)
    high = client.submit_func_spec(func_spec("b", [], "test", "cli", priority=5), key)
    running = client.assign("test", 5, key)
    assert running.processid == high.processid
    attribute = client.add_attribute(running.processid, "result", "42", key)
    assert client.get_attribute(attribute["attributeid"], key)["value"] == "42"
    keys = [a.key for a in client.get_process(running.processid, key).attributes]
    assert "result" in keys
    client.set_output(running.processid, ["partial"], key)
    assert client.get_process(running.processid, key).output == ["partial"]
    client.close(running.processid, [], key)
    assert client.get_process(running.processid, key).output == ["partial"]
    client.remove_process(high.processid, key)
    with pytest.raises(ColoniesConnectionError):
        client.get_process(high.processid, key)
    client.remove_all_processes("test", colony_key)
    with pytest.raises(ColoniesConnectionError):
        client.get_process(low.processid, key)


def test_the_same_flows_with_the_projects_ed25519_sdk(server_process):
    server_key = DEV_SERVER_PRVKEY
    owner, executor, user = (generate_private_key("ed25519") for _ in range(3))
    with Client(server_process.url, server_key) as admin:
        admin.add_colony(Colony(colonyid=owner.id, name="sdk"))
        admin.add_executor(
            Executor(
                executorid=executor.id, executorname="e", executortype="sdk", colonyname="sdk"
            ),
            key=owner,
        )
        admin.approve_executor("sdk", "e", key=owner)
        admin.add_user(User(colonyname="sdk", userid=user.id, name="u"), key=owner)
    with Client(server_process.url, user) as client, Client(server_process.url, executor) as ex:
        spec = FunctionSpec(
            funcname="echo", args=["x"], conditions=Conditions(colonyname="sdk", executortype="sdk")
        )
        submitted = client.submit(spec)
        assert submitted.initiatorname == "u"
        got = ex.assign("sdk", 5)
        ex.add_log(got.processid, "line")
        ex.close_successful(got.processid, ["y"])
        assert client.wait(submitted.processid, timeout=5).output == ["y"]
        assert [entry.message for entry in client.get_logs("sdk", processid=got.processid)] == [
            "line"
        ]
        failing = client.submit(spec)
        got = ex.assign("sdk", 5)
        ex.close_failed(got.processid, ["nope"])
        assert client.get_process(failing.processid).errors == ["nope"]
        assert ex.assign("sdk", 1) is None  # 404 after the timeout
        assert client.colony_statistics("sdk").failedprocesses == 1
