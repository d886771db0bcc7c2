"""The CLI against a real server: through click's runner and as real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from click.testing import CliRunner

from colonies.cli.main import cli
from colonies.client import AsyncClient
from colonies.crypto import generate_private_key, parse_private_key


def _env(server, colony, key) -> dict[str, str]:
    return {
        "COLONIES_SERVER_HOST": "127.0.0.1",
        "COLONIES_SERVER_PORT": str(server.port),
        "COLONIES_PRVKEY": key.text,
        "COLONIES_COLONY_PRVKEY": colony.owner.text,
        "COLONIES_COLONY_NAME": colony.name,
        "COLONIES_EXECUTOR_TYPE": colony.executor_type,
        "COLONIES_EXECUTOR_NAME": colony.executor_name,
    }


async def run(server, colony, key, *args: str):
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, list(args), env=_env(server, colony, key))


async def test_json_output_matches_the_api(server, colony):
    result = await run(server, colony, colony.user, "colony", "get", "-o", "json")
    assert result.exit_code == 0, result.output
    api = await server.rpc.call("getcolonymsg", colony.user, colonyname=colony.name)
    assert json.loads(result.output) == api
    listed = await run(server, colony, colony.user, "executor", "ls", "-o", "json")
    assert [e["executorname"] for e in json.loads(listed.output)] == [colony.executor_name]


async def test_tables_have_headers_unless_asked(server, colony):
    result = await run(server, colony, colony.user, "executor", "ls")
    header = result.output.splitlines()[0].split()
    assert header[:3] == ["NAME", "TYPE", "STATE"]
    assert colony.executor_name in result.output and "APPROVED" in result.output
    bare = await run(server, colony, colony.user, "executor", "ls", "--no-headers")
    assert bare.output.splitlines()[0].split()[0] == colony.executor_name


async def test_submit_assign_close_and_get(server, colony):
    submitted = await run(
        server,
        colony,
        colony.user,
        "function",
        "submit",
        "--func",
        "f",
        "--args",
        '[1, "a"]',
        "-o",
        "json",
    )
    processid = json.loads(submitted.output)["processid"]
    waiting = await run(server, colony, colony.user, "process", "ps", "-o", "json")
    assert [p["processid"] for p in json.loads(waiting.output)] == [processid]
    assigned = await run(server, colony, colony.executor, "process", "assign", "--timeout", "2")
    assert processid in assigned.output
    closed = await run(
        server, colony, colony.executor, "process", "close", processid, "--out", "[42]"
    )
    assert closed.exit_code == 0, closed.output
    got = await run(server, colony, colony.user, "process", "get", processid, "-o", "json")
    assert json.loads(got.output)["state"] == 2 and json.loads(got.output)["out"] == [42]


async def test_submit_wait_prints_the_output(server, colony):
    async def executor():
        async with AsyncClient(server.url, colony.executor) as client:
            p = await client.assign(colony.name, 10)
            assert p is not None
            await client.close_successful(p.processid, ["done", 7])

    task = asyncio.create_task(executor())
    result = await run(server, colony, colony.user, "function", "exec", "--func", "f")
    await task
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["done", "7"]


async def test_security_generate_round_trips_through_id(server, colony):
    generated = await run(server, colony, colony.user, "security", "generate")
    lines = dict(line.split(": ", 1) for line in generated.output.splitlines())
    assert parse_private_key(lines["PrvKey"]).id == lines["Id"]
    derived = await run(server, colony, colony.user, "security", "id", "--key", lines["PrvKey"])
    assert derived.output.strip() == lines["Id"]


async def test_wrong_key_is_one_line_error(server, colony):
    result = await run(server, colony, generate_private_key(), "colony", "get")
    assert result.exit_code == 1
    assert result.output.startswith("error: Access denied") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


async def _subprocess(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "colonies.cli.main", *args,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_as_a_real_subprocess(server, colony):
    code, out, err = await _subprocess(
        _env(server, colony, colony.user), "colony", "get", "-o", "json"
    )
    assert code == 0, err
    assert json.loads(out)["name"] == colony.name


async def test_unreachable_server_fails_fast_in_one_line(server, colony):
    env = {**_env(server, colony, colony.user), "COLONIES_SERVER_PORT": "1"}
    started = time.monotonic()
    code, out, err = await _subprocess(env, "colony", "get")
    assert code == 1 and out == ""
    assert err.strip() == "error: cannot reach server at http://127.0.0.1:1"
    assert time.monotonic() - started < 10
