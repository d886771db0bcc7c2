"""The CLI against a real server: through click's runner and as real subprocesses.

CliRunner.invoke is synchronous and the CLI runs its own event loop, while the server runs in the
test's loop: every invocation goes to a thread (``asyncio.to_thread``), and subprocesses are
started with ``asyncio.create_subprocess_exec`` so the loop keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time

from click.testing import CliRunner, Result

from colonies.cli.main import cli
from colonies.client import AsyncClient
from colonies.crypto import PrivateKey, generate_private_key, parse_private_key
from tests.helpers import cli_env

PROCESS_HEADER = ["ID", "FUNC", "ARGS", "TYPE", "STATE", "SUBMITTED", "INITIATOR"]


async def run(server, colony, key: PrivateKey | None, *args: str, **extra: str) -> Result:
    runner = CliRunner()
    env = cli_env(server, colony, key, **extra)
    return await asyncio.to_thread(runner.invoke, cli, list(args), env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def one_line_error(result: Result) -> str:
    """Exit 1, nothing on stdout, exactly one ``error:`` line on stderr, no traceback."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


async def _submit(server, colony, *extra: str) -> str:
    out = ok(await run(server, colony, colony.user, "function", "submit", "--func", "f", *extra,
                       "-o", "json"))  # fmt: skip
    return json.loads(out)["processid"]


# --- output -----------------------------------------------------------------------------------
async def test_json_output_matches_the_api(server, colony):
    out = ok(await run(server, colony, colony.user, "colony", "get", "-o", "json"))
    api = await server.rpc.call("getcolonymsg", colony.user, colonyname=colony.name)
    assert json.loads(out) == api
    listed = ok(await run(server, colony, colony.user, "executor", "ls", "-o", "json"))
    api = await server.rpc.call("getexecutorsmsg", colony.user, colonyname=colony.name)
    assert json.loads(listed) == api
    assert [e["executorname"] for e in json.loads(listed)] == [colony.executor_name]
    stats = ok(await run(server, colony, colony.user, "colony", "stats", "-o", "json"))
    api = await server.rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert json.loads(stats) == api


async def test_tables_have_headers_unless_asked(server, colony):
    out = ok(await run(server, colony, colony.user, "executor", "ls"))
    header = out.splitlines()[0].split()
    assert header[:3] == ["NAME", "TYPE", "STATE"]
    assert colony.executor_name in out and "APPROVED" in out
    bare = ok(await run(server, colony, colony.user, "executor", "ls", "--no-headers"))
    assert bare.splitlines()[0].split()[0] == colony.executor_name

    processid = await _submit(server, colony, "--arg", "x")
    table = ok(await run(server, colony, colony.user, "process", "psw")).splitlines()
    assert table[0].split() == PROCESS_HEADER
    assert len(table) == 2
    row = table[1].split()
    assert row[:5] == [processid, "f", '["x"]', colony.executor_type, "WAITING"]
    assert row[-1] == colony.user_name
    rows = ok(await run(server, colony, colony.user, "process", "psw", "--no-headers"))
    assert [line.split()[0] for line in rows.splitlines()] == [processid]
    empty = ok(await run(server, colony, colony.user, "process", "pss", "--no-headers"))
    assert empty == ""


# --- keys -------------------------------------------------------------------------------------
async def test_security_generate_round_trips_through_id(server, colony):
    for scheme in ("ed25519", "secp256k1"):
        out = ok(await run(server, colony, None, "security", "generate", "--scheme", scheme))
        lines = dict(line.split(": ", 1) for line in out.splitlines())
        key = parse_private_key(lines["PrvKey"])
        assert key.scheme == scheme and key.id == lines["Id"]
        assert key.public_hex == lines["PubKey"]
        derived = ok(await run(server, colony, None, "security", "id", "--key", lines["PrvKey"]))
        assert derived.strip() == lines["Id"]
        from_env = ok(await run(server, colony, key, "security", "id"))
        assert from_env.strip() == lines["Id"]


async def test_wrong_key_is_one_line_error(server, colony):
    line = one_line_error(await run(server, colony, generate_private_key(), "colony", "get"))
    assert line.startswith("error: Access denied") and "(status 403)" in line


async def test_missing_or_malformed_key_names_the_variable(server, colony):
    line = one_line_error(await run(server, colony, None, "process", "ps"))
    assert "COLONIES_PRVKEY" in line and "--key" in line
    line = one_line_error(await run(server, colony, colony.user, "colony", "ls"))
    assert "COLONIES_SERVER_PRVKEY" in line and "--server-key" in line
    line = one_line_error(
        await run(server, colony, colony.user, "user", "remove", "--name", "x",
                  COLONIES_COLONY_PRVKEY=None)
    )  # fmt: skip
    assert "COLONIES_COLONY_PRVKEY" in line
    line = one_line_error(await run(server, colony, colony.user, "--key", "nope", "colony", "get"))
    assert line.startswith("error: invalid private key in --key")
    line = one_line_error(
        await run(server, colony, colony.user, "colony", "get", COLONIES_SERVER_PORT="abc")
    )
    assert "COLONIES_SERVER_PORT" in line
    usage = await run(server, colony, colony.user, "function", "submit", "--func", "f",
                      "--args", "{not json")  # fmt: skip
    assert usage.exit_code == 1 and "--args is not valid JSON" in usage.stderr


# --- administration ---------------------------------------------------------------------------
async def test_server_commands(server, colony, server_key):
    admin = {"COLONIES_SERVER_PRVKEY": server_key.text}
    status = json.loads(ok(await run(server, colony, None, "server", "status", "-o", "json")))
    assert status["health"] is True and status["server"] == f"http://127.0.0.1:{server.port}"
    assert status["version"] == await server.rpc.call("versionmsg", None)
    assert status["serverinfo"] == await server.rpc.call("getserverinfomsg", None)
    table = ok(await run(server, colony, None, "server", "status")).splitlines()
    assert table[0].split()[:4] == ["SERVER", "VERSION", "BUILT", "HEALTH"]
    stats = ok(await run(server, colony, None, "server", "stats", "-o", "json", **admin))
    assert json.loads(stats) == await server.rpc.call("getstatisticsmsg", server_key)
    alive = await run(server, colony, None, "server", "alive")
    assert alive.exit_code == 0 and "alive" in alive.stdout
    version = ok(await run(server, colony, None, "version")).splitlines()
    assert version[0].startswith("client: ") and version[1].startswith("server: ")
    assert "not reachable" not in version[1]


async def test_colony_executor_user_administration(server, colony, server_key):
    admin = {"COLONIES_SERVER_PRVKEY": server_key.text}
    owner = generate_private_key()
    added = await run(server, colony, None, "colony", "add", "--name", "second",
                      "--colonyid", owner.id, "-o", "json", **admin)  # fmt: skip
    assert json.loads(ok(added)) == {"colonyid": owner.id, "name": "second"}
    names = ok(await run(server, colony, None, "colony", "ls", "--no-headers", **admin))
    assert sorted(line.split()[0] for line in names.splitlines()) == sorted(["second", colony.name])

    # An executor registered by key, then approved, rejected and removed by the colony owner.
    worker = generate_private_key()
    added = await run(server, colony, None, "executor", "add", "--name", "w2", "--type", "gpu",
                      "--key", worker.text, "-o", "json")  # fmt: skip
    assert json.loads(ok(added))["executorid"] == worker.id
    get = ["executor", "get", "--name", "w2", "--no-headers"]
    assert "PENDING" in ok(await run(server, colony, colony.user, *get))
    ok(await run(server, colony, None, "executor", "approve", "--name", "w2"))
    assert "APPROVED" in ok(await run(server, colony, colony.user, *get))
    ok(await run(server, colony, None, "executor", "reject", "--name", "w2"))
    assert "REJECTED" in ok(await run(server, colony, colony.user, *get))
    ok(await run(server, colony, None, "executor", "remove", "--name", "w2"))
    one_line_error(await run(server, colony, colony.user, *get))

    bob = generate_private_key()
    ok(await run(server, colony, None, "user", "add", "--name", "bob", "--userid", bob.id,
                 "--email", "bob@example.org"))  # fmt: skip
    users = json.loads(ok(await run(server, colony, colony.user, "user", "ls", "-o", "json")))
    assert sorted(u["name"] for u in users) == ["alice", "bob"]
    got = ok(await run(server, colony, bob, "user", "get", "--name", "bob", "-o", "json"))
    got = json.loads(got)
    assert got["userid"] == bob.id and got["email"] == "bob@example.org"
    ok(await run(server, colony, None, "user", "remove", "--name", "bob"))
    one_line_error(await run(server, colony, bob, "colony", "get"))

    ok(await run(server, colony, None, "colony", "remove", "--name", "second", **admin))
    names = ok(await run(server, colony, None, "colony", "ls", "--no-headers", **admin))
    assert [line.split()[0] for line in names.splitlines()] == [colony.name]


async def test_help_names_the_variables(server, colony):
    for args, variable in (
        (["colony", "add"], "COLONIES_SERVER_PRVKEY"),
        (["executor", "approve"], "COLONIES_COLONY_PRVKEY"),
        (["process", "ps"], "COLONIES_PRVKEY"),
        (["function", "submit"], "COLONIES_EXECUTOR_TYPE"),
        (["function", "register"], "COLONIES_EXECUTOR_NAME"),
        ([], "COLONIES_SERVER_HOST"),
    ):
        out = ok(await run(server, colony, None, *args, "--help"))
        assert variable in out, (args, out)


# --- work -------------------------------------------------------------------------------------
async def test_function_register_and_ls(server, colony):
    ok(await run(server, colony, colony.executor, "function", "register", "--name", "echo"))
    listed = ok(await run(server, colony, colony.user, "function", "ls", "-o", "json"))
    api = await server.rpc.call("getfunctionsmsg", colony.user, colonyname=colony.name,
                                executorname="")  # fmt: skip
    assert json.loads(listed) == api
    assert [(f["funcname"], f["executorname"]) for f in api] == [("echo", colony.executor_name)]
    # Only the executor itself may advertise its functions.
    one_line_error(
        await run(server, colony, colony.user, "function", "register", "--name", "other")
    )


async def test_submit_assign_close_and_get(server, colony):
    processid = await _submit(server, colony, "--args", '[1, "a"]', "--kwargs", '{"k": 2}',
                              "--priority", "3", "--label", "lbl")  # fmt: skip
    waiting = ok(await run(server, colony, colony.user, "process", "psw", "-o", "json"))
    assert [p["processid"] for p in json.loads(waiting)] == [processid]
    spec = json.loads(waiting)[0]["spec"]
    assert spec["args"] == [1, "a"] and spec["kwargs"] == {"k": 2}
    assert spec["priority"] == 3 and spec["label"] == "lbl"
    assigned = ok(await run(server, colony, colony.executor, "process", "assign", "--timeout", "2"))
    assert processid in assigned and "RUNNING" in assigned
    closed = await run(server, colony, colony.executor, "process", "close", processid,
                       "--out", "[42]")  # fmt: skip
    ok(closed)
    got = ok(await run(server, colony, colony.user, "process", "get", processid, "-o", "json"))
    assert json.loads(got)["state"] == 2 and json.loads(got)["out"] == [42]
    assert json.loads(got) == await server.rpc.call("getprocessmsg", colony.user,
                                                    processid=processid)  # fmt: skip
    successful = ok(await run(server, colony, colony.user, "process", "pss", "-o", "json"))
    assert [p["processid"] for p in json.loads(successful)] == [processid]
    nothing = await run(server, colony, colony.executor, "process", "assign", "--timeout", "1")
    assert "No process available" in one_line_error(nothing)


async def test_fail_cancel_remove_and_removeall(server, colony):
    failing = await _submit(server, colony)
    ok(await run(server, colony, colony.executor, "process", "assign", "--timeout", "2"))
    ok(await run(server, colony, colony.executor, "process", "fail", failing,
                 "--error", "boom", "--error", "bang"))  # fmt: skip
    failed = json.loads(ok(await run(server, colony, colony.user, "process", "psf", "-o", "json")))
    assert [(p["processid"], p["errors"]) for p in failed] == [(failing, ["boom", "bang"])]

    cancelled = await _submit(server, colony)
    ok(await run(server, colony, colony.user, "process", "cancel", cancelled))
    got = ok(await run(server, colony, colony.user, "process", "get", cancelled, "-o", "json"))
    assert json.loads(got)["state"] == 4

    ok(await run(server, colony, colony.user, "process", "remove", failing))
    one_line_error(await run(server, colony, colony.user, "process", "get", failing))

    other = await _submit(server, colony, "--type", "elsewhere")
    only = ok(await run(server, colony, colony.user, "process", "psw", "--type", "elsewhere",
                        "--no-headers"))  # fmt: skip
    assert [line.split()[0] for line in only.splitlines()] == [other]
    ok(await run(server, colony, None, "process", "removeall", "--state", "waiting", "--yes"))
    assert ok(await run(server, colony, colony.user, "process", "psw", "--no-headers")) == ""
    ok(await run(server, colony, None, "process", "removeall", "--yes"))
    got = await run(server, colony, colony.user, "process", "get", cancelled)
    assert "(status 404)" in one_line_error(got)


async def _executor_closes(server, colony, output=None, errors=None, logs=()):
    async with AsyncClient(server.url, colony.executor) as client:
        p = await client.assign(colony.name, 10)
        assert p is not None
        for line in logs:
            await client.add_log(p.processid, line)
            await asyncio.sleep(0.3)
        if errors is not None:
            await client.close_failed(p.processid, errors)
        else:
            await client.close_successful(p.processid, output or [])
        return p.processid


async def test_submit_wait_prints_the_output(server, colony):
    task = asyncio.create_task(_executor_closes(server, colony, ["done", 7, {"a": 1}]))
    result = await run(server, colony, colony.user, "function", "submit", "--func", "f", "--wait")
    await task
    assert ok(result).splitlines() == ["done", "7", '{"a": 1}']
    assert result.stderr == ""  # no spinner when stderr is not a terminal

    task = asyncio.create_task(_executor_closes(server, colony, ["x"]))
    result = await run(server, colony, colony.user, "function", "exec", "--func", "f", "-o", "json")
    await task
    assert json.loads(ok(result))["out"] == ["x"]


async def test_submit_wait_exits_1_when_the_process_fails(server, colony):
    task = asyncio.create_task(_executor_closes(server, colony, errors=["it broke"]))
    result = await run(server, colony, colony.user, "function", "exec", "--func", "f")
    processid = await task
    assert one_line_error(result) == f"error: process {processid} failed: it broke"


async def test_submit_wait_gives_up_at_the_timeout(server, colony):
    started = time.monotonic()
    result = await run(server, colony, colony.user, "function", "exec", "--func", "f",
                       "--timeout", "1")  # fmt: skip
    assert "is still waiting after 1 s" in one_line_error(result)
    assert time.monotonic() - started < 8


async def test_logs_and_attributes(server, colony):
    processid = await _submit(server, colony)
    async with AsyncClient(server.url, colony.executor) as client:
        assert (await client.assign(colony.name, 5)) is not None
        for i in range(3):
            await client.add_log(processid, f"line {i}")
    got = ok(await run(server, colony, colony.user, "log", "get", "--processid", processid,
                       "-o", "json"))  # fmt: skip
    assert [entry["message"] for entry in json.loads(got)] == ["line 0", "line 1", "line 2"]
    table = ok(await run(server, colony, colony.user, "log", "get", "--processid", processid,
                         "--count", "2"))  # fmt: skip
    assert table.splitlines()[0].split() == ["TIME", "EXECUTOR", "MESSAGE"]
    assert [line.split(maxsplit=2)[2] for line in table.splitlines()[1:]] == ["line 0", "line 1"]
    found = ok(await run(server, colony, colony.user, "log", "search", "--text", "line 1",
                         "-o", "json"))  # fmt: skip
    assert [entry["message"] for entry in json.loads(found)] == ["line 1"]

    added = ok(await run(server, colony, colony.executor, "attribute", "add", "--processid",
                         processid, "--key", "color", "--value", "blue", "-o", "json"))  # fmt: skip
    attributeid = json.loads(added)["attributeid"]
    got = ok(await run(server, colony, colony.user, "attribute", "get", attributeid, "-o", "json"))
    assert json.loads(got) == await server.rpc.call("getattributemsg", colony.user,
                                                    attributeid=attributeid)  # fmt: skip
    assert json.loads(got)["key"] == "color" and json.loads(got)["value"] == "blue"
    table = ok(await run(server, colony, colony.user, "attribute", "get", attributeid))
    assert table.splitlines()[0].split() == ["KEY", "VALUE", "TYPE", "ATTRIBUTEID"]


# --- as real subprocesses ---------------------------------------------------------------------
async def _subprocess(env: dict[str, str | None], *args: str) -> tuple[int, str, str]:
    merged = {**os.environ, **env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "colonies.cli.main", *args,
        env={k: v for k, v in merged.items() if v is not None},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_as_a_real_subprocess(server, colony):
    code, out, err = await _subprocess(
        cli_env(server, colony, colony.user), "colony", "get", "-o", "json"
    )
    assert code == 0, err
    assert json.loads(out)["name"] == colony.name


async def test_log_follow_as_a_real_subprocess(server, colony):
    processid = await _submit(server, colony)
    lines = [f"step {i}" for i in range(4)]
    task = asyncio.create_task(_executor_closes(server, colony, ["ok"], logs=lines))
    code, out, err = await _subprocess(
        cli_env(server, colony, colony.user),
        "log", "get", "--processid", processid, "--follow", "--no-headers",
    )  # fmt: skip
    assert await task == processid
    assert code == 0, err
    assert [line.split(maxsplit=2)[2] for line in out.splitlines()] == lines


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_server_fails_fast_in_one_line(server, colony):
    port = _closed_port()
    env = cli_env(server, colony, colony.user, COLONIES_SERVER_PORT=str(port))
    started = time.monotonic()
    code, out, err = await _subprocess(env, "colony", "get")
    assert code == 1 and out == ""
    assert err.strip() == f"error: cannot reach server at http://127.0.0.1:{port}"
    assert time.monotonic() - started < 5
    code, out, err = await _subprocess(env, "server", "alive")
    assert code == 1 and out == "" and "cannot reach server" in err
