"""A throwaway etcd cluster (one or three members) on loopback ports, for tests and drills."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import free_port

_running: set[EtcdCluster] = set()


def find_etcd() -> str:
    path = os.environ.get("COLONIES_ETCD_BIN") or shutil.which("etcd")
    if path is None:
        raise RuntimeError("etcd not found: install Debian's etcd-server (make test does)")
    return path


class EtcdMember:
    def __init__(self, name: str, data_dir: Path, client_port: int, peer_port: int) -> None:
        self.name = name
        self.data_dir = data_dir
        self.client_port = client_port
        self.peer_port = peer_port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


class EtcdCluster:
    """``with EtcdCluster(3) as etcd: etcd.endpoints`` → "127.0.0.1:p1,127.0.0.1:p2,..."."""

    def __init__(self, size: int = 1) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="colonies-etcd-"))
        self.members = [
            EtcdMember(f"m{i}", self.base / f"m{i}", free_port(), free_port()) for i in range(size)
        ]
        self.token = f"colonies-{os.getpid()}-{id(self)}"

    @property
    def endpoints(self) -> str:
        return ",".join(m.endpoint for m in self.members)

    def _command(self, m: EtcdMember, state: str) -> list[str]:
        initial = ",".join(f"{x.name}={x.peer_url}" for x in self.members)
        return [
            find_etcd(),
            "--name", m.name,
            "--data-dir", str(m.data_dir),
            "--listen-client-urls", f"http://{m.endpoint}",
            "--advertise-client-urls", f"http://{m.endpoint}",
            "--listen-peer-urls", m.peer_url,
            "--initial-advertise-peer-urls", m.peer_url,
            "--initial-cluster", initial,
            "--initial-cluster-token", self.token,
            "--initial-cluster-state", state,
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
        ]  # fmt: skip

    def start_member(self, m: EtcdMember, state: str = "new") -> None:
        log = open(self.base / f"{m.name}.log", "ab")
        m.proc = subprocess.Popen(self._command(m, state), stdout=log, stderr=log)

    def start(self, timeout: float = 20.0) -> None:
        for m in self.members:
            self.start_member(m)
        _running.add(self)
        deadline = time.monotonic() + timeout
        for m in self.members:
            while not self._port_open(m.client_port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"etcd member {m.name} did not start: see {self.base}")
                time.sleep(0.05)

    @staticmethod
    def _port_open(port: int) -> bool:
        with contextlib.closing(socket.socket()) as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", port)) == 0

    def signal_member(self, m: EtcdMember, sig: int) -> None:
        if m.proc is not None and m.proc.poll() is None:
            m.proc.send_signal(sig)

    def kill_member(self, m: EtcdMember) -> None:
        if m.proc is not None and m.proc.poll() is None:
            m.proc.send_signal(signal.SIGKILL)
            m.proc.wait(10)

    def restart_member(self, m: EtcdMember) -> None:
        self.kill_member(m)
        self.start_member(m, state="existing")

    def stop(self) -> None:
        for m in self.members:
            if m.proc is not None and m.proc.poll() is None:
                m.proc.terminate()
                try:
                    m.proc.wait(5)
                except subprocess.TimeoutExpired:
                    m.proc.kill()
                    m.proc.wait(5)
        _running.discard(self)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> EtcdCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    for cluster in list(_running):
        cluster.stop()
