"""The real server as a subprocess (``colonies server start``), driven by the real pycolonies
client from PyPI.

pycolonies is synchronous (``requests``), so these tests are plain sync tests; the server runs
in its own process with its own event loop, exactly as an operator would start it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from crypto import Crypto
from pycolonies import Colonies

from tests.helpers import DEV_SERVER_PRVKEY, TEMPLATE_DB, free_port
from tests.support.postgres import PostgresCluster

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
SERVER_CMD = [sys.executable, "-m", "colonies.cli.main", "server", "start"]


def server_env(**colonies_vars: str) -> dict[str, str]:
    """The test process's environment without any COLONIES_* variable, plus ``colonies_vars``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(colonies_vars)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def spawn_server(env: Mapping[str, str], stderr_path: Path) -> subprocess.Popen[bytes]:
    """``colonies server start`` with ``env``; stdout and stderr go to ``stderr_path``."""
    with stderr_path.open("wb") as err:
        return subprocess.Popen(
            SERVER_CMD,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal goes to pytest only
        )


def stop_server(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    return proc.wait(timeout)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def wait_healthy(
    proc: subprocess.Popen[bytes], url: str, stderr_path: Path, timeout: float = START_TIMEOUT
) -> None:
    """Poll ``GET /health`` until it answers 200; fail with the server's output otherwise."""
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    while True:
        rc = proc.poll()
        if rc is not None:
            raise RuntimeError(
                f"the server exited with code {rc} before answering /health; its output:\n"
                f"{_read(stderr_path)}"
            )
        try:
            with urllib.request.urlopen(url + "/health", timeout=1.0) as reply:
                if reply.status == 200:
                    return
                last_error = f"HTTP {reply.status}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(
                f"the server did not answer {url}/health within {timeout:.0f}s "
                f"(last attempt: {last_error}); its output:\n{_read(stderr_path)}"
            )
        time.sleep(0.05)


@dataclass(frozen=True)
class ServerProcess:
    host: str
    port: int
    url: str  # http://host:port, without /api
    db_url: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def output(self) -> str:
        """Everything the server has written to stdout/stderr so far."""
        return _read(self.stderr_path)


@pytest.fixture
def server_process(pg: PostgresCluster, tmp_path: Path) -> Iterator[ServerProcess]:
    """The real server in a subprocess, on a fresh database cloned from the template."""
    db_name = "c_" + uuid.uuid4().hex[:16]
    pg.create_database(db_name, template=TEMPLATE_DB)
    try:
        host, port = "127.0.0.1", free_port()
        url = f"http://{host}:{port}"
        env = server_env(
            COLONIES_DB_URL=pg.dsn(db_name),
            COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY,
            COLONIES_SERVER_PORT=str(port),
            COLONIES_SERVER_BIND=host,
        )
        stderr_path = tmp_path / "server.stderr"
        proc = spawn_server(env, stderr_path)
        try:
            wait_healthy(proc, url, stderr_path)
            yield ServerProcess(host, port, url, pg.dsn(db_name), proc, stderr_path)
        finally:
            stop_server(proc)  # a no-op when the test stopped it already
    finally:
        pg.drop_database(db_name)


def make_client(server: ServerProcess) -> Colonies:
    """A real pycolonies client pointed at ``server``."""
    return Colonies(server.host, server.port)


@pytest.fixture
def client(server_process: ServerProcess) -> Colonies:
    return make_client(server_process)


@pytest.fixture
def world(server_process):
    """A colony with an approved executor (type ``cli``) and a user, all secp256k1 keys."""
    crypto = Crypto()
    client = make_client(server_process)
    colony_key, executor_key, user_key = crypto.prvkey(), crypto.prvkey(), crypto.prvkey()
    client.add_colony({"colonyid": crypto.id(colony_key), "name": "test"}, DEV_SERVER_PRVKEY)
    client.add_executor(
        {
            "executorname": "test-executor",
            "executorid": crypto.id(executor_key),
            "colonyname": "test",
            "executortype": "cli",
        },
        colony_key,
    )
    client.approve_executor("test", "test-executor", colony_key)
    return client, colony_key, executor_key, user_key
