"""A local HA fleet on loopback: PostgreSQL, a 3-member etcd, N replicas and HAProxy in front.

For drills and demos. ``python -m tests.support.fleet start`` runs it in the foreground (it
writes ``fleet.json`` with the ports and pids, Ctrl-C or ``stop`` ends everything);
``python -m tests.support.fleet stop`` stops a running fleet from another shell.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from colonies.config import ConfigError, parse_backends
from tests.support import DEV_SERVER_PRVKEY, free_port
from tests.support.etcd import EtcdCluster
from tests.support.postgres import PostgresCluster


@dataclass
class Replica:
    name: str
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    # The ports of the other backends (docs/protocol.md §12), by backend name.
    backend_ports: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _get(url: str, timeout: float = 1.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.read().decode()
    except OSError:
        return None


@dataclass
class Fleet:
    replicas: int = 3
    etcd_members: int = 3
    leader_ttl: int = 3
    server_prvkey: str = DEV_SERVER_PRVKEY
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="colonies-fleet-")))
    extra_env: dict[str, str] = field(default_factory=dict)
    # The transports every replica serves: http and any of grpc, coap, libp2p.
    backends: tuple[str, ...] = ("http",)

    def __post_init__(self) -> None:
        # Durable, unlike the unit-test clusters: the drills restart PostgreSQL with "immediate"
        # and a lost commit would look like a doubled assignment.
        self.pg = PostgresCluster(
            settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
        )
        self.etcd = EtcdCluster(self.etcd_members)
        self.members = [
            Replica(
                f"replica-{i}",
                free_port(),
                self.base / f"replica-{i}.log",
                backend_ports={b: free_port() for b in self.backends if b != "http"},
            )
            for i in range(self.replicas)
        ]
        self.lb_port = free_port()
        # gRPC through the load balancer too (TCP); CoAP (UDP) and LibP2P (peer to peer) are
        # reached replica by replica.
        self.grpc_lb_port = free_port() if "grpc" in self.backends else 0
        self.haproxy: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The load balancer: what clients use."""
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def db_url(self) -> str:
        return self.pg.dsn("colonies")

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.pg.start()
        self.pg.create_database("colonies")
        self.etcd.start()
        for replica in self.members:
            self.start_replica(replica)
        for replica in self.members:
            self.wait_healthy(replica)
        self._start_haproxy()

    def env(self, replica: Replica) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
        env.update(
            COLONIES_DB_URL=self.db_url,
            COLONIES_SERVER_PRVKEY=self.server_prvkey,
            COLONIES_SERVER_PORT=str(replica.port),
            COLONIES_SERVER_BIND="127.0.0.1",
            COLONIES_SERVER_HTTP_HOST="127.0.0.1",
            COLONIES_ETCD_ENDPOINTS=self.etcd.endpoints,
            COLONIES_LEADER_TTL=str(self.leader_ttl),
            COLONIES_REPLICA_NAME=replica.name,
            COLONIES_DB_MAX_OPEN_CONNS="30",
            COLONIES_SERVER_BACKENDS=",".join(self.backends),
            PYTHONUNBUFFERED="1",
        )
        for backend, port in replica.backend_ports.items():
            env[f"COLONIES_SERVER_{backend.upper()}_PORT"] = str(port)
        env.update(self.extra_env)
        return env

    def start_replica(self, replica: Replica) -> None:
        log = replica.log.open("ab")
        replica.proc = subprocess.Popen(
            [sys.executable, "-m", "colonies.cli.main", "server", "start"],
            env=self.env(replica),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def wait_healthy(self, replica: Replica, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while _get(replica.url + "/health") is None:
            if not replica.alive():
                raise RuntimeError(f"{replica.name} exited: see {replica.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{replica.name} not healthy in {timeout} s: see {replica.log}")
            time.sleep(0.05)

    def _start_haproxy(self) -> None:
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise RuntimeError("haproxy not found: install Debian's haproxy (make test does)")
        servers = "\n".join(
            f"    server {r.name} 127.0.0.1:{r.port} check inter 500 fall 2 rise 1"
            for r in self.members
        )
        grpc = ""
        if self.grpc_lb_port:
            grpc_servers = "\n".join(
                f"    server {r.name} 127.0.0.1:{r.backend_ports['grpc']} check inter 500"
                for r in self.members
            )
            grpc = f"""frontend grpc
    mode tcp
    bind 127.0.0.1:{self.grpc_lb_port}
    default_backend grpc_replicas
backend grpc_replicas
    mode tcp
    balance roundrobin
{grpc_servers}
"""
        config = self.base / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    retries 3
    option redispatch
frontend api
    bind 127.0.0.1:{self.lb_port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /ready
    retry-on conn-failure empty-response response-timeout
{servers}
{grpc}"""
        )
        log = (self.base / "haproxy.log").open("ab")
        self.haproxy = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + 10
        while _get(self.url + "/health") is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start: see {self.base / 'haproxy.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.haproxy.wait(5)
        for replica in self.members:
            if replica.alive():
                assert replica.proc is not None
                replica.proc.terminate()
        for replica in self.members:
            if replica.proc is not None:
                try:
                    replica.proc.wait(10)
                except subprocess.TimeoutExpired:
                    replica.proc.kill()
        self.etcd.stop()
        self.pg.close()

    def __enter__(self) -> Fleet:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- inspection ---------------------------------------------------------------------------
    def is_leader(self, replica: Replica) -> bool:
        metrics = _get(replica.url + "/metrics")
        return metrics is not None and "\ncolonies_leader 1.0" in metrics

    def leader(self) -> Replica | None:
        leaders = [r for r in self.members if r.alive() and self.is_leader(r)]
        return leaders[0] if len(leaders) == 1 else None

    def backends_of(self, replica: Replica) -> list[dict[str, object]]:
        """What the replica's getserverinfomsg reports (LibP2P's multiaddrs among it)."""
        envelope = {"signature": "", "payloadtype": "getserverinfomsg", "payload": "e30="}
        request = urllib.request.Request(
            replica.url + "/api", data=json.dumps(envelope).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            payload = json.loads(reply.read())["payload"]
        backends: list[dict[str, object]] = json.loads(base64.b64decode(payload))["backends"]
        return backends

    def describe(self) -> dict[str, object]:
        replicas: list[dict[str, object]] = []
        for r in self.members:
            entry: dict[str, object] = {
                "name": r.name,
                "url": r.url,
                "pid": r.proc.pid if r.proc else None,
            }
            if r.backend_ports and r.alive():
                entry["backends"] = self.backends_of(r)
            replicas.append(entry)
        return {
            "url": self.url,
            **({"grpc": f"127.0.0.1:{self.grpc_lb_port}"} if self.grpc_lb_port else {}),
            "db_url": self.db_url,
            "etcd": self.etcd.endpoints,
            "replicas": replicas,
            "base": str(self.base),
            "pid": os.getpid(),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fleet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a fleet in the foreground; Ctrl-C stops it")
    start.add_argument("--replicas", type=int, default=3)
    start.add_argument("--ttl", type=int, default=3, help="leader lease TTL, seconds")
    start.add_argument("--state", type=Path, default=Path("fleet.json"))
    start.add_argument(
        "--backends",
        default="http",
        help="transports every replica serves, e.g. http,grpc,coap,libp2p (default: http)",
    )
    stop = sub.add_parser("stop", help="stop the fleet started with the same --state")
    stop.add_argument("--state", type=Path, default=Path("fleet.json"))
    args = parser.parse_args(argv)

    if args.command == "stop":
        try:
            pid = json.loads(args.state.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            sys.exit(f"no running fleet described by {args.state}")
        os.kill(pid, signal.SIGTERM)
        print(f"stopping the fleet (pid {pid})")
        return

    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        backends = parse_backends("--backends", args.backends)
    except ConfigError as exc:
        sys.exit(str(exc))
    if "http" not in backends:
        sys.exit("--backends: the fleet needs http (its load balancer and health checks)")
    with Fleet(replicas=args.replicas, leader_ttl=args.ttl, backends=backends) as fleet:
        args.state.write_text(json.dumps(fleet.describe(), indent=2))
        print(json.dumps(fleet.describe(), indent=2), flush=True)
        print(f"fleet up: clients use {fleet.url} (Ctrl-C or 'stop' ends it)", flush=True)
        while not stopping:
            time.sleep(0.2)
    with contextlib.suppress(OSError):
        args.state.unlink()


if __name__ == "__main__":
    main()
