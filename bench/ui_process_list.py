"""Load time of the dashboard's process list in a real browser, with 10,000 processes waiting.

Starts a throwaway PostgreSQL and one server process, submits the processes through the signed
HTTP path, signs the browser in (key kept for the tab), then reloads /ui/#/processes several
times and prints how long each load took: from the navigation's start to the list of the first
100 processes drawn (module loading, the key restored and probed, the signed getprocessesmsg,
the table). Needs Debian's chromium (`make system-deps`). Run from a checkout:

    .venv/bin/python bench/ui_process_list.py --processes 10000 --loads 7
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# The package from this checkout, and tests/support (throwaway services) beside it.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from colonies.client import AsyncRpc  # noqa: E402
from colonies.crypto import generate_private_key, parse_private_key  # noqa: E402

DEV_SERVER_PRVKEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
COLONY = "bench"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def start_server(dsn: str) -> tuple[subprocess.Popen[bytes], str]:
    from tests.support import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(
        COLONIES_DB_URL=dsn,
        COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY,
        COLONIES_SERVER_PORT=str(port),
        COLONIES_SERVER_BIND="127.0.0.1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "colonies.cli.main", "server", "start"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)  # noqa: S310 - loopback
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start")


async def seed(url: str, count: int) -> object:
    server_key = parse_private_key(DEV_SERVER_PRVKEY)
    owner, user = generate_private_key(), generate_private_key()
    async with AsyncRpc(url) as rpc:
        await rpc.call("addcolonymsg", server_key, colony={"colonyid": owner.id, "name": COLONY})
        await rpc.call(
            "addusermsg", owner, user={"colonyname": COLONY, "userid": user.id, "name": "ops"}
        )
        queue = iter(range(count))

        async def submitter() -> None:
            for i in queue:
                spec = {
                    "funcname": f"job-{i % 50}",
                    "args": [i],
                    "priority": i % 5,
                    "conditions": {"colonyname": COLONY, "executortype": "batch"},
                    "maxexectime": -1,
                    "maxwaittime": -1,
                }
                await rpc.call("submitfuncspecmsg", user, spec=spec)

        started = time.perf_counter()
        await asyncio.gather(*(submitter() for _ in range(8)))
        print(f"submitted {count} processes in {time.perf_counter() - started:.1f} s")
        stats = await rpc.call("getcolonystatsmsg", user, colonyname=COLONY)
        print(f"colony {COLONY}: {stats['waitingprocesses']} waiting")
    return user


async def measure(url: str, user: object, loads: int) -> list[float]:
    from playwright.async_api import async_playwright

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 900})
            await page.goto(f"{url}/ui/#/keys")
            await page.fill("#colony-name", COLONY)
            await page.fill("#private-key", user.text)  # type: ignore[attr-defined]
            await page.select_option("#keep", "tab")
            await page.click("#sign-in")
            await page.wait_for_selector('#view[data-page="overview"]')
            times, own = [], []
            for _ in range(loads + 1):  # the first load warms the server's and browser's caches
                await page.goto(f"{url}/ui/#/processes?state=0")
                await page.reload()
                await page.wait_for_selector("#process-list[data-loaded] tbody tr >> nth=99")
                mark = await page.evaluate(
                    """() => {
                        const m = performance.getEntriesByName("colonies:process-list")[0];
                        return [m.startTime, m.detail.ms];
                    }"""
                )
                times.append(mark[0])
                own.append(mark[1])
                summary = await page.text_content("#list-summary")
            print(f"the page says: {summary}")
            print(
                f"of which the list page itself (signed getprocessesmsg and the table): median "
                f"{statistics.median(own[1:]):.0f} ms"
            )
            return times[1:]
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=7)
    args = parser.parse_args()
    from tests.support.postgres import PostgresCluster

    with PostgresCluster() as pg:
        pg.start()
        pg.create_database("bench")
        proc, url = start_server(pg.dsn("bench"))
        try:
            user = asyncio.run(seed(url, args.processes))
            times = asyncio.run(measure(url, user, args.loads))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"process list load, {args.processes} processes in the colony, {len(times)} loads: "
        f"median {statistics.median(times):.0f} ms, min {min(times):.0f} ms, "
        f"max {max(times):.0f} ms (navigation start -> first 100 rows drawn)"
    )


if __name__ == "__main__":
    main()
