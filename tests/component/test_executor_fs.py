"""Executors that mount ColonyFS: snapshots and synced dirs around a run, real S3 underneath."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from colonies.cli.main import cli
from colonies.client import AsyncClient, ColonyFS
from colonies.config import S3Config
from colonies.core import Conditions, FunctionSpec, Process, ProcessState
from colonies.core.objects import Filesystem, KeepLocal, OnConflicts, SnapshotMount, SyncDirMount
from colonies.crypto import PrivateKey, generate_private_key
from colonies.executor import Executor, ProcessContext
from tests.helpers import Colony, RunningServer, make_colony


@dataclass
class World:
    server: RunningServer
    colony: Colony
    client: AsyncClient
    fs: ColonyFS
    executor: Executor
    fs_dir: Path
    calls: list[str]


@pytest.fixture
async def world(
    server: RunningServer, server_key: PrivateKey, s3_config: S3Config, tmp_path: Path
) -> AsyncIterator[World]:
    colony = await make_colony(server.rpc, server_key, "secp256k1")
    calls: list[str] = []
    fs_dir = tmp_path / "executor-fs"
    executor = Executor(
        server.url, generate_private_key(), colony=colony.name, name="files",
        executortype="files", colony_key=colony.owner, poll_timeout=1, fs_dir=fs_dir,
    )  # fmt: skip

    @executor.function
    def wordcount(ctx: ProcessContext) -> int:
        """Count the words of the snapshot's files; write a report into the results dir."""
        calls.append(ctx.process.processid)
        inputs = ctx.path("/in")
        words = sum(len(p.read_text().split()) for p in sorted(inputs.rglob("*.txt")))
        out = ctx.path("/out/{processid}")
        (out / "report.json").write_text(json.dumps({"words": words}))
        return words

    serving = asyncio.create_task(executor.serve())
    client = AsyncClient(server.url, colony.user)
    async with ColonyFS(client, colony.name, s3_config) as fs:
        yield World(server, colony, client, fs, executor, fs_dir, calls)
    executor.stop()
    await asyncio.wait_for(serving, 30)
    await client.close()


def _spec(colony: str, **fs: Any) -> FunctionSpec:
    return FunctionSpec(
        funcname="wordcount",
        maxexectime=-1,
        maxwaittime=-1,
        maxretries=-1,
        conditions=Conditions(colonyname=colony, executortype="files"),
        fs=Filesystem(mount="/cfs", **fs),
    )


def _mounts(snapshotid: str = "", keep: bool = False) -> dict[str, Any]:
    return {
        "snapshots": [
            SnapshotMount(snapshotid=snapshotid, label="/corpus", dir="/in", keepfiles=keep,
                          keepsnapshot=keep)
        ],
        "dirs": [
            SyncDirMount(label="/results/{processid}", dir="/out/{processid}", keepfiles=keep,
                         onconflicts=OnConflicts(onclose=KeepLocal(keeplocal=True)))
        ],
    }  # fmt: skip


async def _final(client: AsyncClient, processid: str, timeout: float = 30.0) -> Process:
    for _ in range(int(timeout / 0.1)):
        p = await client.get_process(processid)
        if p.state not in (ProcessState.WAITING, ProcessState.RUNNING):
            return p
        await asyncio.sleep(0.1)
    raise AssertionError("process did not finish")


async def test_submit_with_snapshot_runs_on_the_snapshot_and_syncs_results_back(
    world: World, s3_env: dict[str, str], tmp_path: Path
) -> None:
    await world.fs.upload_bytes(b"one two three", "/corpus", "a.txt")
    await world.fs.upload_bytes(b"four five", "/corpus/more", "b.txt")
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(_builtins(_spec(world.colony.name, **_mounts()))))
    env = {
        "COLONIES_SERVER_HOST": "127.0.0.1",
        "COLONIES_SERVER_PORT": str(world.server.port),
        "COLONIES_PRVKEY": world.colony.user.text,
        "COLONIES_COLONY_NAME": world.colony.name,
        **s3_env,
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, cli,
        ["function", "submit", "--spec", str(spec_file), "--snapshot", "--wait", "-o", "json"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    process = json.loads(result.stdout)
    assert process["state"] == ProcessState.SUCCESS and process["out"] == [5]
    pid = process["processid"]
    snapshotid = process["spec"]["fs"]["snapshots"][0]["snapshotid"]
    assert snapshotid  # --snapshot filled it in before submitting

    report = await world.fs.file(label=f"/results/{pid}", name="report.json")
    assert json.loads(await world.fs.download_bytes(report)) == {"words": 5}
    assert await world.fs.snapshots() == []  # keepsnapshot false: removed after the run
    assert not (world.fs_dir / "in").exists() and not (world.fs_dir / "out" / pid).exists()


async def test_keepfiles_and_keepsnapshot_keep_them(world: World) -> None:
    await world.fs.upload_bytes(b"just words here", "/corpus", "a.txt")
    snap = await world.fs.create_snapshot("/corpus", "kept")
    process = await world.client.submit(_spec(world.colony.name, **_mounts(snap.snapshotid, True)))
    done = await _final(world.client, process.processid)
    assert done.state == ProcessState.SUCCESS, done.errors
    assert [s.name for s in await world.fs.snapshots()] == ["kept"]
    assert (world.fs_dir / "in" / "a.txt").read_text() == "just words here"
    report = world.fs_dir / "out" / process.processid / "report.json"
    assert json.loads(report.read_text()) == {"words": 3}


async def test_inputs_that_cannot_be_fetched_fail_the_process_without_running_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No snapshot ID: the inputs cannot be found.
    process = await world.client.submit(_spec(world.colony.name, **_mounts()))
    done = await _final(world.client, process.processid)
    assert done.state == ProcessState.FAILED
    assert done.errors == [
        "ColonyFS: could not fetch the inputs: snapshot mount of '/corpus' has no snapshotid "
        "(submit with --snapshot, or create one and set it)"
    ]
    # A snapshot that does not exist.
    process = await world.client.submit(_spec(world.colony.name, **_mounts("0" * 64)))
    done = await _final(world.client, process.processid)
    assert done.state == ProcessState.FAILED
    assert "could not fetch the inputs" in done.errors[0] and "Snapshot" in done.errors[0]
    # A dir that climbs out of the executor's directory.
    escape = {"dirs": [SyncDirMount(label="/x", dir="/../../etc")]}
    process = await world.client.submit(_spec(world.colony.name, **escape))
    done = await _final(world.client, process.processid)
    assert done.state == ProcessState.FAILED and "must not contain '..'" in done.errors[0]
    assert world.calls == []  # the function never ran

    # No S3 settings at all (a fresh executor reads them when a process first needs them).
    for name in ("AWS_S3_ENDPOINT", "AWS_S3_ACCESSKEY"):
        monkeypatch.delenv(name)
    world.executor.mounts._fs = None
    await world.fs.upload_bytes(b"x", "/corpus", "a.txt")
    snap = await world.fs.create_snapshot("/corpus", "s")
    process = await world.client.submit(_spec(world.colony.name, **_mounts(snap.snapshotid)))
    done = await _final(world.client, process.processid)
    assert done.state == ProcessState.FAILED
    assert "could not fetch the inputs: ColonyFS needs S3 settings" in done.errors[0]
    assert world.calls == []
    assert [s.name for s in await world.fs.snapshots()] == ["s"]  # kept for a retry


def _builtins(spec: FunctionSpec) -> Any:
    import msgspec

    return msgspec.to_builtins(spec)
