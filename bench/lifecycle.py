"""Submit -> assign -> close cycles through the real signed path, for a fixed time.

Starts a throwaway PostgreSQL and N server processes (or attaches to --url), registers E
executors that long-poll, and drives C concurrent submitters, over HTTP or, with --backend,
over gRPC, CoAP or LibP2P (docs/protocol.md §12). Afterwards it checks that every process was
assigned exactly once. Run from a checkout after `make test`'s set-up:

    .venv/bin/python bench/lifecycle.py --seconds 20 --executors 50 --submitters 8
    .venv/bin/python bench/lifecycle.py --backend grpc
    .venv/bin/python bench/lifecycle.py --fast-path --workers 2

With --fast-path the executors close and take their next process in one request
(closeandassignmsg, docs/protocol.md §7.21): two signed requests a cycle instead of three.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The package from this checkout, and tests/support (throwaway services) beside it.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from colonies.client import AsyncClient, ColoniesError, Transport  # noqa: E402
from colonies.client._backends import backend_transport  # noqa: E402
from colonies.config import ClientConfig  # noqa: E402
from colonies.core import Colony, Conditions, Executor, FunctionSpec, Process, User  # noqa: E402
from colonies.crypto import generate_private_key  # noqa: E402

DEV_SERVER_PRVKEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
COLONY = "bench"
DRAIN_SECONDS = 60  # after the window: at most this long to take what is still waiting
LEDGER_TRIGGERS = ("processes_ledger_insert", "processes_ledger_update", "processes_ledger_delete")
START_DELAY = 3.0  # seconds for the client processes to start before the window opens


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Results:
    cycles: int = 0
    errors: int = 0
    assign_latency: list[float] = field(default_factory=list)
    rpc: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    submitted: list[str] = field(default_factory=list)
    assigned: collections.Counter[str] = field(default_factory=collections.Counter)
    deadline: float = 0.0  # time.time() at the end of the measured window


async def setup(url: str, scheme: str, executors: int) -> tuple[object, list[object]]:
    owner, user = generate_private_key(scheme), generate_private_key(scheme)
    keys = [generate_private_key(scheme) for _ in range(executors)]
    async with AsyncClient(url, DEV_SERVER_PRVKEY) as admin:
        await admin.add_colony(Colony(colonyid=owner.id, name=COLONY))
        await admin.add_user(User(colonyname=COLONY, userid=user.id, name="bench"), key=owner)
        for i, key in enumerate(keys):
            await admin.add_executor(
                Executor(executorid=key.id, executorname=f"e{i}", executortype="bench",
                         colonyname=COLONY), key=owner)  # fmt: skip
            await admin.approve_executor(COLONY, f"e{i}", key=owner)
    return user, keys


async def timed(results: Results, name: str, call):
    started = time.perf_counter()
    try:
        return await call
    finally:
        if time.time() <= results.deadline:  # latencies of the measured window only
            results.rpc[name].append(time.perf_counter() - started)


class Shared(Transport):
    """One transport for every client of a client process (one gRPC channel, one pool of
    CoAP endpoints, one LibP2P host and connection), closed once at the end."""

    def __init__(self, transport: Transport) -> None:
        self.inner = transport

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        return await self.inner.request(envelope, timeout)

    def subscribe(self, envelope: bytes):  # type: ignore[no-untyped-def]
        return self.inner.subscribe(envelope)

    async def health(self, timeout: float) -> bool:
        return await self.inner.health(timeout)

    async def close(self) -> None:
        pass  # the clients come and go; the process closes it


def transport_for(backend: str, endpoint: dict[str, object]) -> Transport | None:
    """None for HTTP (each client its own kept-alive connections, as before)."""
    if backend == "http":
        return None
    config = ClientConfig(
        backends=(backend,),
        grpc_host="127.0.0.1",
        grpc_port=int(endpoint.get("grpc", 0)),  # type: ignore[call-overload]
        coap_host="127.0.0.1",
        coap_port=int(endpoint.get("coap", 0)),  # type: ignore[call-overload]
        libp2p_peers=tuple(endpoint.get("libp2p", ())),  # type: ignore[arg-type]
    )
    return Shared(backend_transport(config, backend))


async def fast_executor_loop(url: str, key, results: Results, transport=None) -> None:
    """As executor_loop, over the fast path: each close also takes the next process (waiting
    for one up to 10 s); a long poll only when the close took none."""
    async with AsyncClient(url, key, transport=transport) as client:
        held: list[Process] = []
        while time.time() < results.deadline + DRAIN_SECONDS:
            try:
                if not held:
                    p = await timed(results, "assignprocessmsg", client.assign(COLONY, 1))
                    if p is None:
                        if time.time() > results.deadline + 1:  # a whole empty poll after the stop
                            break
                        continue
                    results.assigned[p.processid] += 1
                    held = [p]
                p = held.pop()
                timeout = 10 if time.time() <= results.deadline else -1
                held = await timed(results, "closeandassignmsg", client.close_and_assign(
                    p.processid, [], count=1, timeout=timeout))  # fmt: skip
                if time.time() <= results.deadline:
                    results.cycles += 1
                    results.assign_latency.append(
                        (p.starttime - p.submissiontime).total_seconds()
                    )
                for q in held:
                    results.assigned[q.processid] += 1
            except (ColoniesError, OSError, asyncio.TimeoutError):
                results.errors += 1
                held = []


async def executor_loop(url: str, key, results: Results, transport=None) -> None:
    """Take and close processes until the window ends, then until none is left to take (so
    that the last submissions are assigned too), within DRAIN_SECONDS."""
    async with AsyncClient(url, key, transport=transport) as client:
        while time.time() < results.deadline + DRAIN_SECONDS:
            try:
                p = await timed(results, "assignprocessmsg", client.assign(COLONY, 1))
                if p is None:
                    if time.time() > results.deadline + 1:  # a whole empty poll after the stop
                        break
                    continue
                results.assigned[p.processid] += 1
                await timed(results, "closesuccessfulmsg", client.close_successful(p.processid, []))
                if time.time() <= results.deadline:
                    results.cycles += 1
                    results.assign_latency.append((p.starttime - p.submissiontime).total_seconds())
            except (ColoniesError, OSError, asyncio.TimeoutError):
                results.errors += 1


async def submitter_loop(url: str, key, results: Results, transport=None) -> None:
    spec = FunctionSpec(
        funcname="noop", maxexectime=-1, maxwaittime=-1, maxretries=-1,
        conditions=Conditions(colonyname=COLONY, executortype="bench"),
    )  # fmt: skip
    async with AsyncClient(url, key, transport=transport) as client:
        while time.time() < results.deadline:
            try:
                p = await timed(results, "submitfuncspecmsg", client.submit(spec))
                results.submitted.append(p.processid)
            except (ColoniesError, OSError, asyncio.TimeoutError):
                results.errors += 1


def run_clients(args_json: str) -> dict[str, object]:
    """One client process: its share of executors and submitters (a process per core)."""
    args = json.loads(args_json)

    async def main() -> dict[str, object]:
        from colonies.crypto import parse_private_key

        results = Results(deadline=args["start_at"] + args["seconds"])
        urls = args["urls"]
        user = parse_private_key(args["user"])
        executor_keys = [parse_private_key(k) for k in args["executors"]]
        late = time.time() - args["start_at"]
        if late > 0:
            raise RuntimeError(f"a client process started {late:.1f} s after the window opened")
        transports = [transport_for(args["backend"], endpoint) for endpoint in args["endpoints"]]
        for transport in transports:  # connected before the window (LibP2P dials first)
            if transport is not None:
                await transport.health(30)
        await asyncio.sleep(args["start_at"] - time.time())
        cpu_started = time.process_time()
        loop = fast_executor_loop if args["fast_path"] else executor_loop
        tasks = [
            asyncio.create_task(
                loop(urls[i % len(urls)], key, results, transports[i % len(urls)])
            )
            for i, key in enumerate(executor_keys)
        ] + [
            asyncio.create_task(
                submitter_loop(urls[i % len(urls)], user, results, transports[i % len(urls)])
            )
            for i in range(args["submitters"])
        ]
        await asyncio.sleep(results.deadline - time.time())
        cpu = time.process_time() - cpu_started
        await asyncio.gather(*tasks, return_exceptions=True)
        for transport in transports:
            if isinstance(transport, Shared):
                await transport.inner.close()
        return {
            "cpu": cpu,
            "cycles": results.cycles,
            "errors": results.errors,
            "assign_latency": results.assign_latency,
            "rpc": dict(results.rpc),
            "submitted": results.submitted,
            "assigned": dict(results.assigned),
        }

    from colonies._aio import run

    return run(main())


def start_fleet(
    replicas: int, pg_stats: bool = False, backend: str = "http", workers: int = 1
) -> tuple[object, list[object], list[str], list[dict[str, object]]]:
    """PostgreSQL and the replicas: their HTTP URLs and, for --backend, where each replica
    serves that backend too."""
    import subprocess

    from tests.support import free_port
    from tests.support.postgres import PostgresCluster

    settings: dict[str, object] = {"max_connections": 400}
    if pg_stats:
        settings["shared_preload_libraries"] = "pg_stat_statements"
    pg = PostgresCluster(settings=settings)
    pg.start()
    pg.create_database("bench")
    if pg_stats:
        pg.execute("CREATE EXTENSION pg_stat_statements;", dbname="bench")
    procs, urls, endpoints = [], [], []
    for i in range(replicas):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
        env.update(
            COLONIES_DB_URL=pg.dsn("bench"), COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY,
            COLONIES_SERVER_PORT=str(port), COLONIES_SERVER_BIND="127.0.0.1",
            COLONIES_DB_MAX_OPEN_CONNS="40", COLONIES_REPLICA_NAME=f"bench-{i}",
            COLONIES_WORKERS=str(workers),
        )  # fmt: skip
        endpoint: dict[str, object] = {}
        if backend != "http":
            endpoint[backend] = free_port()
            env["COLONIES_SERVER_BACKENDS"] = f"http,{backend}"
            env[f"COLONIES_SERVER_{backend.upper()}_PORT"] = str(endpoint[backend])
        endpoints.append(endpoint)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "colonies.cli.main", "server", "start"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        urls.append(f"http://127.0.0.1:{port}")
    import urllib.request

    for url, endpoint in zip(urls, endpoints, strict=True):
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.05)
        if backend == "libp2p":  # its multiaddr, as getserverinfomsg reports it
            info = asyncio.run(_server_info(url))
            endpoint["libp2p"] = next(b for b in info.backends if b.type == "libp2p").multiaddrs
    return pg, procs, urls, endpoints


async def _server_info(url: str):  # type: ignore[no-untyped-def]
    async with AsyncClient(url) as client:
        return await client.server_info()


def server_cpu(procs: list[object]) -> float:
    """CPU seconds of the replicas, their worker processes (COLONIES_WORKERS) included."""
    return tree_cpu([p.pid for p in procs])  # type: ignore[attr-defined]


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds of these processes and of every process below them, as they are now."""
    total = 0.0
    pids = list(pids)
    while pids:
        pid = pids.pop()
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pids += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def start_profilers(procs: list[object], directory: str | None, seconds: float) -> list[object]:
    """py-spy sampling each replica for the measured window (``pip install py-spy``)."""
    import subprocess

    import shutil

    if not directory:
        return []
    os.makedirs(directory, exist_ok=True)
    beside = os.path.join(os.path.dirname(sys.executable), "py-spy")
    py_spy = beside if os.path.exists(beside) else shutil.which("py-spy") or "py-spy"
    return [
        subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(p.pid),
                "--duration",
                str(int(seconds)),  # type: ignore[attr-defined]
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                os.path.join(directory, f"replica-{i}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for i, p in enumerate(procs)
    ]


# Per statement: calls, total ms, ms per call, rows per call, and the statement's start.
PG_STATS_SQL = """
SELECT calls, round(total_exec_time::numeric, 0), round((total_exec_time / calls)::numeric, 3),
       round(rows::numeric / calls, 2), left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
  FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15;
"""


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--executors", type=int, default=50)
    parser.add_argument("--submitters", type=int, default=8)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--backlog", type=int, default=0, help="finished processes to preload")
    parser.add_argument("--scheme", choices=["ed25519", "secp256k1"], default="ed25519")
    parser.add_argument("--no-ledger", action="store_true", help="disable the ledger triggers")
    parser.add_argument("--url", help="attach to a running server (its owner = the dev key)")
    parser.add_argument(
        "--backend",
        choices=["http", "grpc", "coap", "libp2p"],
        default="http",
        help="the clients' transport (the replicas serve it beside HTTP)",
    )
    parser.add_argument(
        "--fast-path",
        action="store_true",
        help="executors close and take the next process in one request (closeandassignmsg)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes per replica (COLONIES_WORKERS)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample each replica with py-spy over the window (collapsed stacks in DIR)",
    )
    parser.add_argument(
        "--pg-stats", action="store_true", help="print PostgreSQL's costliest statements"
    )
    args = parser.parse_args()

    pg = procs = None
    if args.url:
        if args.backend != "http":
            parser.error("--url attaches over HTTP only")
        urls, endpoints = [args.url], [{}]
    else:
        pg, procs, urls, endpoints = start_fleet(
            args.replicas, args.pg_stats, args.backend, args.workers
        )
    try:
        user, keys = asyncio.run(setup(urls[0], args.scheme, args.executors))
        if args.backlog and pg is not None:
            load_backlog(pg.dsn("bench"), args.backlog)
        if args.no_ledger and pg is not None:
            for trigger in LEDGER_TRIGGERS:
                pg.execute(f"ALTER TABLE processes DISABLE TRIGGER {trigger};", dbname="bench")
        start_at = time.time() + START_DELAY
        shares = [
            json.dumps(
                {
                    "urls": urls,
                    "backend": args.backend,
                    "fast_path": args.fast_path,
                    "endpoints": endpoints,
                    "user": user.text,
                    "seconds": args.seconds,
                    "start_at": start_at,
                    "executors": [k.text for k in keys[i :: args.clients]],
                    "submitters": len(range(args.submitters)[i :: args.clients]),
                }
            )  # fmt: skip
            for i in range(args.clients)
        ]
        with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
            pending = pool.map_async(run_clients, shares)
            # The server's and the machine's CPU over the measured window only.
            time.sleep(max(0.0, start_at - time.time()))
            cpu_before, busy_before = server_cpu(procs) if procs else 0.0, machine_busy()
            pg_pids = [pg.pid] if pg is not None and pg.pid else []  # type: ignore[attr-defined]
            pg_before = tree_cpu(pg_pids)
            profilers = start_profilers(procs or [], args.profile, args.seconds)
            time.sleep(max(0.0, start_at + args.seconds - time.time()))
            cpu = (server_cpu(procs) - cpu_before) if procs else float("nan")
            busy = machine_busy() - busy_before
            pg_cpu = tree_cpu(pg_pids) - pg_before if pg_pids else float("nan")
            parts = pending.get()
            for profiler in profilers:
                profiler.wait(30)
        if args.pg_stats and pg is not None:
            print(pg.execute(PG_STATS_SQL, dbname="bench"), file=sys.stderr)
    finally:
        for p in procs or []:
            p.terminate()
            p.wait(10)
        if pg is not None:
            pg.close()

    elapsed = args.seconds
    cycles = sum(p["cycles"] for p in parts)
    errors = sum(p["errors"] for p in parts)
    latency = [x for p in parts for x in p["assign_latency"]]
    rpc: dict[str, list[float]] = collections.defaultdict(list)
    assigned: collections.Counter[str] = collections.Counter()
    submitted: list[str] = []
    for p in parts:
        for name, values in p["rpc"].items():
            rpc[name] += values
        assigned.update(p["assigned"])
        submitted += p["submitted"]
    duplicates = sum(1 for n in assigned.values() if n > 1)
    inverted = sum(1 for x in latency if x < 0)  # started before submitted: a clock bug
    lost = len(set(submitted) - set(assigned))  # submitted, never assigned (drain included)
    summary = {
        "cycles_per_s": cycles / elapsed,
        "assign_p50_ms": percentile(latency, 0.50) * 1000,
        "assign_p95_ms": percentile(latency, 0.95) * 1000,
        "assign_p99_ms": percentile(latency, 0.99) * 1000,
        "errors": errors,
        "lost": lost,
        "duplicates": duplicates,
        "inverted": inverted,
        "server_cpu_ms_per_cycle": cpu / cycles * 1000 if cycles else float("nan"),
        "client_cpu_ms_per_cycle": sum(p["cpu"] for p in parts) / cycles * 1000 if cycles else 0,
        "machine_cpu_ms_per_cycle": busy / cycles * 1000 if cycles else float("nan"),
        "postgres_cpu_ms_per_cycle": pg_cpu / cycles * 1000 if cycles else float("nan"),
        "rpc_ms": {
            name: {"p50": percentile(v, 0.5) * 1000, "p99": percentile(v, 0.99) * 1000}
            for name, v in sorted(rpc.items())
        },
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(f"cycles/s: {summary['cycles_per_s']:.0f}  ({cycles} cycles in {elapsed:.1f} s, "
          f"{args.executors} executors, {args.submitters} submitters, {args.replicas} replica(s) "
          f"of {args.workers} worker(s), {args.scheme}, over {args.backend}"
          f"{', fast path' if args.fast_path else ''})")  # fmt: skip
    print(f"submit->assign ms: p50 {summary['assign_p50_ms']:.1f}  p95 {summary['assign_p95_ms']:.1f}"
          f"  p99 {summary['assign_p99_ms']:.1f}")  # fmt: skip
    for name, v in summary["rpc_ms"].items():
        print(f"  {name:20s} p50 {v['p50']:.2f} ms  p99 {v['p99']:.2f} ms")
    print(f"CPU per cycle: server {summary['server_cpu_ms_per_cycle']:.2f} ms, clients "
          f"{summary['client_cpu_ms_per_cycle']:.2f} ms, PostgreSQL "
          f"{summary['postgres_cpu_ms_per_cycle']:.2f} ms, whole machine "
          f"{summary['machine_cpu_ms_per_cycle']:.2f} ms (other work on the machine included)")  # fmt: skip
    print(f"errors {errors}, lost {lost}, assigned twice {duplicates}, "
          f"started before submitted {inverted}")  # fmt: skip


def load_backlog(dsn: str, count: int) -> None:
    """Insert ``count`` finished processes straight into the table (fast, like old history)."""
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            # Old history: its ledger entries were sealed long ago, and it has been vacuumed
            # (otherwise the run measures the leader sealing and autovacuum catching up).
            await conn.execute("ALTER TABLE processes DISABLE TRIGGER processes_ledger_insert")
            await conn.execute(
                """INSERT INTO processes (processid, colonyname, state, initiatorid, initiatorname,
                       executortype, prioritytime, submissiontime, endtime, spec)
                   SELECT md5(g::text) || md5((g + 1)::text), $1, 2, 'x', 'x', 'bench',
                          g, now() - interval '1 day', now() - interval '1 day', '{}'::jsonb
                     FROM generate_series(1, $2) g""",
                COLONY,
                count,
            )
            await conn.execute("ALTER TABLE processes ENABLE TRIGGER processes_ledger_insert")
            await conn.execute("VACUUM (ANALYZE) processes")
        finally:
            await conn.close()

    asyncio.run(go())


if __name__ == "__main__":
    main()
