"""The bundled etcd's membership script (helm/colonies/files/etcd-member.py) against real etcd
members on loopback: a first bootstrap, a member whose volume was lost, growing the cluster, the
post-upgrade prune of a scale-down, and a removed member coming back with stale data.

Each member runs as the chart runs it: ``etcd-member.py prepare`` writes the configuration file,
then ``etcd --config-file`` starts from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port
from tests.support.etcd import find_etcd

SCRIPT = Path(__file__).resolve().parents[2] / "helm" / "colonies" / "files" / "etcd-member.py"
PREFIX = "rel-colonies-etcd"
TOKEN = "rel-colonies-etcd"
SETTINGS = {"heartbeat-interval": 50, "election-timeout": 500, "auto-compaction-mode": "periodic"}


class Member:
    def __init__(self, base: Path, index: int) -> None:
        self.name = f"{PREFIX}-{index}"
        self.client_port = free_port()
        self.peer_port = free_port()
        self.dir = base / self.name
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"


class Harness:
    def __init__(self, base: Path, size: int) -> None:
        self.base = base
        self.members = [Member(base, i) for i in range(size)]

    def grow(self, size: int) -> None:
        while len(self.members) < size:
            self.members.append(Member(self.base, len(self.members)))

    def env(self, replicas: int, member: Member | None = None) -> dict[str, str]:
        chosen = self.members[:replicas]
        env = {
            **os.environ,
            "ETCD_CLUSTER_CLIENT_URLS": ",".join(m.client_url for m in chosen),
            "ETCD_INITIAL_CLUSTER": ",".join(f"{m.name}={m.peer_url}" for m in chosen),
            "ETCD_CLUSTER_TOKEN": TOKEN,
            "ETCD_MEMBER_PREFIX": PREFIX,
            "ETCD_REPLICAS": str(replicas),
            "ETCD_SETTINGS": json.dumps(SETTINGS),
            "ETCD_SETUP_TIMEOUT": "30",
        }
        if member is not None:
            env.update(
                ETCD_NAME=member.name,
                ETCD_PEER_URL=member.peer_url,
                ETCD_CLIENT_URL=member.client_url,
                ETCD_LISTEN_CLIENT_URLS=member.client_url,
                ETCD_LISTEN_PEER_URLS=member.peer_url,
                ETCD_DATA_DIR=str(member.data_dir),
                ETCD_CONFIG_FILE=str(member.dir / "etcd.yaml"),
            )
        return env

    def script(self, command: str, replicas: int, member: Member | None = None) -> str:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), command],
            env=self.env(replicas, member),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    def prepare(self, member: Member, replicas: int) -> dict[str, object]:
        self.script("prepare", replicas, member)
        config: dict[str, object] = json.loads((member.dir / "etcd.yaml").read_text())
        return config

    def start(self, member: Member) -> None:
        log = (member.dir / "etcd.log").open("ab")
        member.proc = subprocess.Popen(
            [find_etcd(), "--config-file", str(member.dir / "etcd.yaml")], stdout=log, stderr=log
        )
        log.close()

    def stop(self, member: Member) -> None:
        if member.proc is not None and member.proc.poll() is None:
            member.proc.kill()
            member.proc.wait(10)
        member.proc = None

    def stop_all(self) -> None:
        for member in self.members:
            self.stop(member)

    def members_listed(self, via: Member) -> list[dict[str, object]]:
        request = urllib.request.Request(
            via.client_url + "/v3/cluster/member/list", data=b"{}", method="POST"
        )
        with urllib.request.urlopen(request, timeout=3) as reply:
            members: list[dict[str, object]] = json.loads(reply.read())["members"]
        return members

    def wait_healthy(self, members: list[Member], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for member in members:
            while True:
                try:
                    with urllib.request.urlopen(member.client_url + "/health", timeout=2) as r:
                        if json.loads(r.read()).get("health") == "true":
                            break
                except OSError:
                    pass
                if member.proc is not None and member.proc.poll() is not None:
                    log = (member.dir / "etcd.log").read_text()[-2000:]
                    raise AssertionError(f"{member.name} exited:\n{log}")
                assert time.monotonic() < deadline, f"{member.name} not healthy in {timeout} s"
                time.sleep(0.1)

    def leader(self) -> Member:
        request = urllib.request.Request(
            self.members[0].client_url + "/v3/maintenance/status", data=b"{}", method="POST"
        )
        with urllib.request.urlopen(request, timeout=3) as reply:
            leader_id = json.loads(reply.read())["leader"]
        names = {m["ID"]: m["name"] for m in self.members_listed(self.members[0])}
        return next(m for m in self.members if m.name == names[leader_id])

    def started_names(self, via: Member) -> list[str]:
        return sorted(str(m.get("name", "")) for m in self.members_listed(via))


@pytest.fixture
def harness() -> Iterator[Harness]:
    find_etcd()
    base = Path(tempfile.mkdtemp(prefix="colonies-etcd-member-"))
    h = Harness(base, 3)
    try:
        yield h
    finally:
        h.stop_all()
        shutil.rmtree(base, ignore_errors=True)


def test_membership_lifecycle(harness: Harness) -> None:
    h = harness
    # 1. The first bootstrap: nobody answers, every member starts "new" with the chart's list.
    for member in h.members:
        config = h.prepare(member, 3)
        assert config["initial-cluster-state"] == "new"
        assert config["initial-cluster-token"] == TOKEN
        assert config["heartbeat-interval"] == 50  # the chart's settings are merged in
    for member in h.members:
        h.start(member)
    h.wait_healthy(h.members)
    assert h.started_names(h.members[0]) == [m.name for m in h.members]

    # 2. The leader's volume is lost: it is removed and re-added, and joins the running cluster
    # (prepared at once, while the others are still electing a new leader).
    lost = h.leader()
    old_ids = {m["name"]: m["ID"] for m in h.members_listed(h.members[0])}
    h.stop(lost)
    shutil.rmtree(lost.data_dir)
    config = h.prepare(lost, 3)
    assert config["initial-cluster-state"] == "existing"
    assert f"{lost.name}={lost.peer_url}" in str(config["initial-cluster"])
    h.start(lost)
    h.wait_healthy(h.members)
    new_ids = {m["name"]: m["ID"] for m in h.members_listed(h.members[0])}
    assert sorted(new_ids) == sorted(old_ids)
    assert new_ids[lost.name] != old_ids[lost.name]

    # 3. A restart with data is a plain restart (same member id).
    h.stop(lost)
    config = h.prepare(lost, 3)
    assert config["initial-cluster-state"] == "existing"
    h.start(lost)
    h.wait_healthy(h.members)
    assert {m["name"]: m["ID"] for m in h.members_listed(h.members[0])} == new_ids

    # 4. Growing to five: the new members add themselves to the running cluster.
    h.grow(5)
    for member in h.members[3:]:
        assert h.prepare(member, 5)["initial-cluster-state"] == "existing"
        h.start(member)
    h.wait_healthy(h.members)
    assert h.started_names(h.members[0]) == [m.name for m in h.members]

    # 5. Shrinking back to three: the StatefulSet stops members 3 and 4, the hook prunes them.
    for member in h.members[3:]:
        h.stop(member)
    out = h.script("prune", 3)
    assert f"removing {h.members[4].name}" in out and f"removing {h.members[3].name}" in out
    assert h.started_names(h.members[0]) == [m.name for m in h.members[:3]]
    assert "none beyond 3" in h.script("prune", 3)  # nothing left to do

    # 6. Growing again with member 3's old volume still there: its data is stale, dropped, and
    # it joins anew instead of crash-looping on "member removed".
    config = h.prepare(h.members[3], 4)
    assert config["initial-cluster-state"] == "existing"
    h.start(h.members[3])
    h.wait_healthy(h.members[:4])
    assert h.started_names(h.members[0]) == [m.name for m in h.members[:4]]


def test_prepare_without_settings_fails_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "prepare"],
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "etcd-member: error: ETCD_NAME is not set"
    usage = subprocess.run(
        [sys.executable, str(SCRIPT), "grow"], capture_output=True, text=True, timeout=30
    )
    assert usage.returncode == 2 and "usage" in usage.stderr
