"""The systems a user would pick instead, with the same load shape on the same machine:
pgqueuer and procrastinate on a throwaway PostgreSQL, Celery with a Redis broker (Debian's
redis-server on loopback). Each runs a no-op job from submit to completion and reports jobs/s
and pickup latency (enqueue -> the job starting). None of them signs requests or speaks HTTP;
pgqueuer dequeues in batches.

    .venv/bin/pip install '.[bench]'   # the peers' packages
    .venv/bin/python bench/peers.py --seconds 10 --submitters 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

# The package from this checkout, and tests/support (throwaway services) beside it.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support import free_port  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402


def summary(name: str, done: int, elapsed: float, pickups: list[float]) -> dict[str, object]:
    pickups.sort()
    return {
        "system": name,
        "jobs_per_s": done / elapsed if elapsed else 0.0,
        "pickup_p50_ms": pickups[len(pickups) // 2] * 1000 if pickups else None,
        "pickup_p99_ms": pickups[int(len(pickups) * 0.99)] * 1000 if pickups else None,
    }


async def submit_loop(stop: asyncio.Event, submitters: int, enqueue) -> None:
    async def one() -> None:
        while not stop.is_set():
            await enqueue(str(time.time_ns()).encode())

    await asyncio.gather(*(one() for _ in range(submitters)))


# --- pgqueuer ---------------------------------------------------------------------------------
async def run_pgqueuer(dsn: str, seconds: float, submitters: int) -> dict[str, object]:
    import asyncpg
    from pgqueuer import AsyncpgDriver, AsyncpgPoolDriver, QueueManager
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(dsn)
    await Queries(AsyncpgDriver(conn)).install()
    pool = await asyncpg.create_pool(dsn, min_size=submitters, max_size=submitters)
    producer = Queries(AsyncpgPoolDriver(pool))
    qm = QueueManager(Queries(AsyncpgDriver(conn)))
    pickups: list[float] = []
    done = 0

    @qm.entrypoint("noop")
    async def noop(job) -> None:  # type: ignore[no-untyped-def]
        nonlocal done
        pickups.append((time.time_ns() - int(job.payload)) / 1e9)
        done += 1

    stop = asyncio.Event()
    worker = asyncio.create_task(qm.run(dequeue_timeout=timedelta(seconds=1), batch_size=10))
    started = time.perf_counter()
    feeder = asyncio.create_task(
        submit_loop(stop, submitters, lambda p: producer.enqueue("noop", p))
    )
    await asyncio.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - started
    count = done
    qm.shutdown.set()
    await asyncio.gather(feeder, worker, return_exceptions=True)
    await pool.close()
    await conn.close()
    return summary("pgqueuer", count, elapsed, pickups)


# --- procrastinate ----------------------------------------------------------------------------
async def run_procrastinate(dsn: str, seconds: float, submitters: int) -> dict[str, object]:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    pickups: list[float] = []
    done = 0

    @app.task(name="noop")
    async def noop(sent: int) -> None:
        nonlocal done
        pickups.append((time.time_ns() - sent) / 1e9)
        done += 1

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        stop = asyncio.Event()
        worker = asyncio.create_task(app.run_worker_async(concurrency=10, wait=True))
        started = time.perf_counter()
        feeder = asyncio.create_task(
            submit_loop(stop, submitters, lambda p: noop.defer_async(sent=int(p)))
        )
        await asyncio.sleep(seconds)
        stop.set()
        elapsed = time.perf_counter() - started
        count = done
        await asyncio.gather(feeder, return_exceptions=True)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    return summary("procrastinate", count, elapsed, pickups)


# --- Celery + Redis ---------------------------------------------------------------------------
CELERY_APP = """
import time
from celery import Celery
app = Celery("bench", broker="{broker}", backend=None)
app.conf.worker_prefetch_multiplier = 10
app.conf.task_ignore_result = True

@app.task(name="noop")
def noop(sent):
    with open("{log}", "a") as f:
        f.write(f"{{(time.time_ns() - sent) / 1e9}}\\n")
"""


def run_celery(seconds: float, submitters: int) -> dict[str, object] | None:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        return None
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="colonies-celery-"))
    log = workdir / "pickups.log"
    (workdir / "bench_tasks.py").write_text(
        CELERY_APP.format(broker=f"redis://127.0.0.1:{port}/0", log=log)
    )
    redis = subprocess.Popen(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench_tasks", "worker", "--pool", "threads",
         "--concurrency", "10", "--loglevel", "WARNING"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(3)  # the worker connects
        sys.path.insert(0, str(workdir))
        import bench_tasks  # type: ignore[import-not-found]

        from concurrent.futures import ThreadPoolExecutor

        stop_at = time.monotonic() + seconds
        started = time.perf_counter()

        def submit() -> None:
            while time.monotonic() < stop_at:
                bench_tasks.noop.delay(time.time_ns())

        with ThreadPoolExecutor(submitters) as pool:
            list(pool.map(lambda _: submit(), range(submitters)))
        elapsed = time.perf_counter() - started
        time.sleep(1)
        pickups = [float(x) for x in log.read_text().split()] if log.exists() else []
        done = sum(1 for p in pickups if p < elapsed + 1)
        return summary("celery+redis", done, elapsed, pickups)
    finally:
        worker.terminate()
        redis.terminate()
        worker.wait(10)
        redis.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--submitters", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--only",
        default="pgqueuer,procrastinate,celery",
        help="the peers to run, comma-separated (pgqueuer, procrastinate, celery)",
    )
    args = parser.parse_args()
    chosen = {name.strip() for name in args.only.split(",") if name.strip()}
    results = []
    with PostgresCluster(settings={"max_connections": 300}) as pg:
        pg.start()
        for name, runner in (("pgqueuer", run_pgqueuer), ("procrastinate", run_procrastinate)):
            if name not in chosen:
                continue
            pg.create_database(name)
            try:
                results.append(asyncio.run(runner(pg.dsn(name), args.seconds, args.submitters)))
            except ImportError as exc:
                results.append({"system": name, "skipped": f"not installed: {exc}"})
    if "celery" in chosen:
        try:
            celery = run_celery(args.seconds, args.submitters)
            results.append(celery or {"system": "celery+redis", "skipped": "no redis-server"})
        except ImportError as exc:
            results.append({"system": "celery+redis", "skipped": f"not installed: {exc}"})
    if args.json:
        print(json.dumps(results))
        return
    for r in results:
        if "skipped" in r:
            print(f"{r['system']:15s} skipped: {r['skipped']}")
        else:
            print(f"{r['system']:15s} {r['jobs_per_s']:7.0f} jobs/s   pickup p50 "
                  f"{r['pickup_p50_ms'] or float('nan'):.1f} ms  p99 {r['pickup_p99_ms'] or float('nan'):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
