"""COLONIES_WORKERS: several worker processes accept on one HTTP port (SO_REUSEPORT), each a
replica of its own; SIGTERM stops them all, a failed worker stops the others."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from colonies.client import AsyncRpc
from colonies.config import ConfigError, ServerConfig
from tests.helpers import DEV_SERVER_PRVKEY, eventually
from tests.support import free_port


def _children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _env(db_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return {
        **env,
        "COLONIES_DB_URL": db_url,
        "COLONIES_SERVER_PRVKEY": DEV_SERVER_PRVKEY,
        "COLONIES_SERVER_PORT": str(port),
        "COLONIES_SERVER_BIND": "127.0.0.1",
        "COLONIES_DB_MAX_OPEN_CONNS": "5",
        **extra,
    }


async def test_two_workers_share_the_port_and_stop_together(db_url: str) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "colonies.cli.main", "server", "start",
        env=_env(db_url, port, COLONIES_WORKERS="2"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        workers = await eventually(lambda: len(_children(proc.pid)) == 2, timeout=30)
        assert workers
        served: set[str] = set()
        for _ in range(40):  # a new connection each time: the kernel spreads them
            async with AsyncRpc(f"http://127.0.0.1:{port}") as rpc:
                for _attempt in range(100):
                    try:
                        info = await rpc.call("versionmsg", None)
                        break
                    except Exception:  # not listening yet
                        await asyncio.sleep(0.1)
                served.add(info["buildversion"])
        assert served == {"dev"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "2 workers on 127.0.0.1" in err.decode()


async def test_a_failing_worker_fails_the_server(db_url: str) -> None:
    # Every worker fails at start (the port is taken by a plain listener): exit status 1.
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "colonies.cli.main", "server", "start",
            env=_env(db_url, port, COLONIES_WORKERS="2"),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert "cannot listen on 127.0.0.1" in err.decode()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0", "COLONIES_WORKERS must be from 1 to 64, got 0"),
        ("65", "COLONIES_WORKERS must be from 1 to 64, got 65"),
        ("two", "COLONIES_WORKERS must be an integer"),
    ],
)
def test_bad_worker_counts_are_refused(value: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        ServerConfig.from_env({"COLONIES_DB_URL": "postgresql://x/y", "COLONIES_WORKERS": value})


def test_more_workers_serve_http_only() -> None:
    env = {"COLONIES_DB_URL": "postgresql://x/y", "COLONIES_WORKERS": "2"}
    assert ServerConfig.from_env(env).workers == 2
    with pytest.raises(ConfigError, match="shares the HTTP port only"):
        ServerConfig.from_env({**env, "COLONIES_SERVER_BACKENDS": "http,grpc"})
