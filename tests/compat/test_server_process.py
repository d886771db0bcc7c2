"""``colonies server start`` as an operator runs it: start-up failures and shutdown."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.compat.conftest import ServerProcess, server_env, spawn_server, stop_server
from tests.helpers import DEV_SERVER_PRVKEY, free_port

pytestmark = pytest.mark.compat

EXIT_TIMEOUT = 10.0


def _closed_port() -> int:
    """A loopback port nobody listens on (the OS just handed it out and took it back)."""
    return free_port()


def _run_to_exit(env: dict[str, str], tmp_path: Path) -> tuple[int, float, str]:
    stderr_path = tmp_path / "server.stderr"
    proc = spawn_server(env, stderr_path)
    started = time.monotonic()
    try:
        rc = proc.wait(EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_server(proc)
        pytest.fail(
            f"the server was still running after {EXIT_TIMEOUT:.0f}s; its output:\n"
            f"{stderr_path.read_text(errors='replace')}"
        )
    return rc, time.monotonic() - started, stderr_path.read_text(errors="replace")


def test_unreachable_database_exits_with_one_line(tmp_path: Path) -> None:
    db_port = _closed_port()
    env = server_env(
        COLONIES_DB_URL=f"postgresql://colonies:s3cret@127.0.0.1:{db_port}/colonies",
        COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY,
        COLONIES_SERVER_PORT=str(free_port()),
        COLONIES_SERVER_BIND="127.0.0.1",
    )
    rc, elapsed, output = _run_to_exit(env, tmp_path)

    assert rc == 1, output
    assert elapsed < 5.0, (elapsed, output)
    assert "Traceback" not in output, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "ERROR" in lines[0], output
    assert f"127.0.0.1:{db_port}" in lines[0], output
    assert "s3cret" not in output  # the password is not logged


def test_bad_configuration_exits_1_without_traceback(tmp_path: Path) -> None:
    env = server_env(
        COLONIES_DB_URL="postgresql://127.0.0.1:1/x",
        COLONIES_SERVER_PRVKEY="not-a-key",
        COLONIES_SERVER_PORT=str(free_port()),
    )
    rc, _, output = _run_to_exit(env, tmp_path)
    assert rc == 1, output  # as every error of the CLI
    assert "Traceback" not in output, output
    assert output.strip().splitlines() == [
        "error: COLONIES_SERVER_PRVKEY is not a valid private key"
    ], output


def test_port_in_use_exits_with_one_line(server_process: ServerProcess, tmp_path: Path) -> None:
    env = server_env(
        COLONIES_DB_URL=server_process.db_url,
        COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY,
        COLONIES_SERVER_PORT=str(server_process.port),
        COLONIES_SERVER_BIND=server_process.host,
    )
    rc, _, output = _run_to_exit(env, tmp_path)
    assert rc == 1, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert len(errors) == 1, output
    assert f"{server_process.host}:{server_process.port}" in errors[0], output


def test_sigterm_stops_the_server_cleanly(server_process: ServerProcess) -> None:
    rc = stop_server(server_process.proc)
    output = server_process.output()
    assert rc == 0, output
    assert "Traceback" not in output, output
    assert "shutting down" in output, output
    with (
        pytest.raises(OSError),
        socket.create_connection((server_process.host, server_process.port), timeout=1),
    ):
        pass
