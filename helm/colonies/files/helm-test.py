"""`helm test` of the colonies chart: one process through the installed fleet.

Through the Service, as clients reach it: with the server owner key, it adds a throwaway colony
and executor, submits a function spec, assigns it as the executor, closes it with an output and
reads it back as successful, then removes the colony. With only the owner's id (no key in the
cluster), it checks that the fleet is ready and answers. Exit 0 on success, 1 with one line.

Settings: COLONIES_TEST_URL (the Service's URL), COLONIES_SERVER_PRVKEY (optional),
HELM_TEST_READY_TIMEOUT (seconds to wait for readiness, 60).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from typing import Any

import aiohttp

from colonies.client import AsyncRpc
from colonies.crypto import generate_private_key, parse_private_key

EXECUTOR_TYPE = "helm-test"


def _say(message: str) -> None:
    print(f"helm-test: {message}", flush=True)


async def _wait_ready(session: aiohttp.ClientSession, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with session.get(url + "/ready", timeout=aiohttp.ClientTimeout(total=5)) as r:
                if r.status == 200:
                    return
                reason = f"/ready answered {r.status}: {(await r.text()).strip()}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            reason = f"/ready: {exc!r}"
        if time.monotonic() > deadline:
            raise RuntimeError(f"the fleet is not ready after {timeout:.0f} s ({reason})")
        await asyncio.sleep(1)


async def run_process(rpc: AsyncRpc, server_prvkey: str) -> dict[str, Any]:
    """The whole cycle; the closed process."""
    server_key = parse_private_key(server_prvkey)
    owner, executor = generate_private_key(), generate_private_key()
    colony = f"helm-test-{uuid.uuid4().hex[:12]}"
    await rpc.call("addcolonymsg", server_key, colony={"colonyid": owner.id, "name": colony})
    try:
        await rpc.call(
            "addexecutormsg",
            owner,
            executor={
                "executorid": executor.id,
                "executorname": "helm-test-executor",
                "executortype": EXECUTOR_TYPE,
                "colonyname": colony,
            },
        )
        await rpc.call(
            "approveexecutormsg", owner, colonyname=colony, executorname="helm-test-executor"
        )
        spec = {
            "funcname": "echo",
            "args": ["hello from helm test"],
            "conditions": {"colonyname": colony, "executortype": EXECUTOR_TYPE},
            "maxexectime": 60,
            "maxwaittime": 60,
            "maxretries": 0,
        }
        submitted = await rpc.call("submitfuncspecmsg", executor, spec=spec)
        _say(f"submitted process {submitted['processid']} in colony {colony}")
        assigned = await rpc.call("assignprocessmsg", executor, colonyname=colony, timeout=20)
        if assigned["processid"] != submitted["processid"]:
            raise RuntimeError(f"assigned {assigned['processid']}, not the submitted process")
        processid, args = assigned["processid"], assigned["spec"]["args"]
        await rpc.call("closesuccessfulmsg", executor, processid=processid, out=args)
        done: dict[str, Any] = await rpc.call(
            "getprocessmsg", executor, processid=submitted["processid"]
        )
        if done["state"] != 2 or done["out"] != ["hello from helm test"]:
            raise RuntimeError(f"the process ended in state {done['state']} with {done['out']!r}")
        _say(f"process {done['processid']} ran and closed as successful")
        return done
    finally:
        await rpc.call("removecolonymsg", server_key, colonyname=colony)


async def main() -> int:
    url = os.environ["COLONIES_TEST_URL"].rstrip("/")
    server_prvkey = os.environ.get("COLONIES_SERVER_PRVKEY", "").strip()
    # The server's certificate is rarely issued for the Service's name: this smoke test checks
    # the fleet, not the certificate.
    connector = aiohttp.TCPConnector(ssl=False) if url.startswith("https://") else None
    async with aiohttp.ClientSession(connector=connector) as session:
        await _wait_ready(session, url, float(os.environ.get("HELM_TEST_READY_TIMEOUT", "60")))
        rpc = AsyncRpc(url, session)
        version = await rpc.call("versionmsg", None)
        _say(f"{url} is ready, server version {version.get('buildversion', '?')}")
        if not server_prvkey:
            _say("no server owner key in the cluster (serverId only): readiness checked only")
            return 0
        await run_process(rpc, server_prvkey)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except Exception as exc:  # one line for `helm test --logs`
        print(f"helm-test: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
