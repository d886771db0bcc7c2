"""The `helm test` script of the chart (helm/colonies/files/helm-test.py), run as the hook pod runs
it, against a real server and PostgreSQL: with the server owner key it submits a process and runs
it as an executor; with the id only it checks readiness; against nothing it fails in one line."""

from __future__ import annotations

import asyncio
import os
import sys

from colonies.crypto import PrivateKey
from tests.helpers import DEV_SERVER_PRVKEY, RunningServer
from tests.support import free_port

from .conftest import CHART

SCRIPT = CHART / "files" / "helm-test.py"


async def run_script(env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


async def test_runs_a_process_through_the_server(
    server: RunningServer, server_key: PrivateKey
) -> None:
    code, out, err = await run_script(
        {"COLONIES_TEST_URL": server.url, "COLONIES_SERVER_PRVKEY": DEV_SERVER_PRVKEY}
    )
    assert code == 0, out + err
    assert "ran and closed as successful" in out
    colonies = await server.rpc.call("getcoloniesmsg", server_key)
    assert colonies == []  # the throwaway colony is gone


async def test_readiness_only_without_the_key(server: RunningServer) -> None:
    code, out, err = await run_script({"COLONIES_TEST_URL": server.url})
    assert code == 0, out + err
    assert "readiness checked only" in out


async def test_fails_in_one_line_without_a_server() -> None:
    env = {"COLONIES_TEST_URL": f"http://127.0.0.1:{free_port()}", "COLONIES_SERVER_PRVKEY": ""}
    code, _, err = await run_script({**env, "HELM_TEST_READY_TIMEOUT": "2"})
    assert code == 1
    assert err.startswith("helm-test: failed: RuntimeError: the fleet is not ready")
    assert len(err.strip().splitlines()) == 1
