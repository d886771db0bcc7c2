"""``colonies fs`` against a real server and a real SeaweedFS (click's runner, in a thread)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from colonies.cli.main import cli
from colonies.client import AsyncClient, ColonyFS
from colonies.config import S3Config
from colonies.crypto import PrivateKey
from tests.helpers import Colony, RunningServer, make_colony
from tests.support import free_port


@pytest.fixture
async def fs_colony(server: RunningServer, server_key: PrivateKey) -> Colony:
    return await make_colony(server.rpc, server_key, "secp256k1")


class Cli:
    def __init__(self, server: RunningServer, colony: Colony, s3_env: dict[str, str]) -> None:
        self.env: dict[str, str | None] = {
            "COLONIES_SERVER_HOST": "127.0.0.1",
            "COLONIES_SERVER_PORT": str(server.port),
            "COLONIES_SERVER_HTTP_PORT": None,
            "COLONIES_TLS": None,
            "COLONIES_PRVKEY": colony.user.text,
            "COLONIES_COLONY_NAME": colony.name,
            **s3_env,
        }

    async def __call__(self, *args: str, **env: str | None) -> Result:
        runner = CliRunner()
        return await asyncio.to_thread(runner.invoke, cli, list(args), env={**self.env, **env})

    async def ok(self, *args: str, **env: str | None) -> str:
        result = await self(*args, **env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    async def error(self, *args: str, **env: str | None) -> str:
        """Exit 1 with exactly one ``error:`` line on stderr and no traceback."""
        result = await self(*args, **env)
        assert result.exit_code == 1, (result.output, result.exception)
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]


@pytest.fixture
def colonies(server: RunningServer, fs_colony: Colony, s3_env: dict[str, str]) -> Cli:
    return Cli(server, fs_colony, s3_env)


def _table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


async def test_sync_dry_confirm_yes_and_the_remembered_label(colonies: Cli, tmp_path: Path):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "a.txt").write_text("alpha\n")
    (work / "sub" / "b.txt").write_text("beta\n")

    dry = await colonies("fs", "sync", "-l", "proj", "-d", str(work), "--dry")
    assert dry.exit_code == 0, dry.output
    assert _table(dry.stdout) == [
        ["ACTION", "LABEL", "FILE", "SIZE"],
        ["upload", "/proj", "a.txt", "6", "B"],
        ["upload", "/proj/sub", "b.txt", "5", "B"],
    ]
    assert "upload 2, download 0, conflicts 0" in dry.stderr
    assert not (work / ".cfs").exists()  # --dry changes nothing

    # No terminal and no --yes: refuse rather than hang or guess.
    refused = await colonies.error("fs", "sync", "-l", "proj", "-d", str(work))
    assert "add --yes" in refused

    out = await colonies.ok("fs", "sync", "-l", "proj", "-d", str(work), "--yes")
    assert "synced" in out and "2 files moved" in out
    assert json.loads((work / ".cfs").read_text()) == {"label": "/proj"}
    again = await colonies.ok("fs", "sync", "-d", str(work), "--yes")  # label from .cfs
    assert "in sync: nothing to do" in again

    listed = _table(await colonies.ok("fs", "ls", "-l", "/proj"))
    assert listed[0] == ["NAME", "SIZE", "LATEST", "FILEID", "ADDED", "REVISIONS"]
    assert listed[1][0] == "a.txt" and listed[1][-1] == "1"
    labels = _table(await colonies.ok("fs", "label", "ls"))
    assert labels == [["LABEL", "FILES"], ["/proj", "1"], ["/proj/sub", "1"]]


async def test_keeplocal_false_downloads_over_a_conflicting_local_file(
    colonies: Cli, tmp_path: Path
) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "f.txt").write_text("v1")
    await colonies.ok("fs", "sync", "-l", "/k", "-d", str(work), "--yes")
    other = tmp_path / "other"
    await colonies.ok("fs", "sync", "-l", "/k", "-d", str(other), "--yes")
    (other / "f.txt").write_text("v2 from elsewhere")
    await colonies.ok("fs", "sync", "-d", str(other), "--yes")  # keeplocal (the default)
    (work / "f.txt").write_text("local edit")
    dry = await colonies.ok("fs", "sync", "-d", str(work), "--dry", "--keeplocal=false")
    assert _table(dry)[1][:3] == ["replace", "local", "/k"]
    await colonies.ok("fs", "sync", "-d", str(work), "--yes", "--keeplocal=false")
    assert (work / "f.txt").read_text() == "v2 from elsewhere"
    info = json.loads(await colonies.ok("fs", "info", "-l", "/k", "-n", "f.txt", "-o", "json"))
    assert [f["size"] for f in info] == [len("v2 from elsewhere"), 2]


async def test_get_info_remove_and_label_remove(colonies: Cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.bin").write_bytes(b"\x00\x01" * 1000)
    await colonies.ok("fs", "sync", "-l", "/g", "-d", str(src), "--yes")
    info = json.loads(await colonies.ok("fs", "info", "-l", "/g", "-n", "data.bin", "-o", "json"))
    fileid = info[0]["fileid"]
    assert info[0]["checksum"] == hashlib.sha256(b"\x00\x01" * 1000).hexdigest()

    by_name = await colonies.ok(
        "fs", "get", "-l", "/g", "-n", "data.bin", "-d", str(tmp_path / "a")
    )
    assert by_name.strip() == str(tmp_path / "a" / "data.bin")
    await colonies.ok("fs", "get", "-i", fileid, "-d", str(tmp_path / "b"))
    assert (tmp_path / "b" / "data.bin").read_bytes() == b"\x00\x01" * 1000

    assert "give --fileid, or --label and --name" in await colonies.error(
        "fs", "get", "-l", "/g", "-d", str(tmp_path)
    )
    assert "removed 1 revision" in await colonies.ok("fs", "remove", "-i", fileid)
    assert "File not found" in await colonies.error("fs", "info", "-i", fileid)
    (src / "more.txt").write_text("more")
    await colonies.ok("fs", "sync", "-d", str(src), "--yes")  # data.bin goes up again
    assert "removed 2 revisions under /g" in await colonies.ok(
        "fs", "label", "remove", "-l", "g", "--yes"
    )
    assert _table(await colonies.ok("fs", "label", "ls")) == [["LABEL", "FILES"]]
    assert (src / "data.bin").exists()  # local files are never touched


async def test_snapshot_commands(colonies: Cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "top.txt").write_text("top")
    (src / "nested" / "n.txt").write_text("nested")
    await colonies.ok("fs", "sync", "-l", "/snap", "-d", str(src), "--yes")
    created = json.loads(
        await colonies.ok("fs", "snapshot", "create", "-l", "/snap", "-n", "s1", "-o", "json")
    )
    assert created["name"] == "s1" and len(created["fileids"]) == 2
    table = await colonies.ok("fs", "snapshot", "info", "-n", "s1")
    assert "n.txt" in table and "/snap/nested" in table
    out = await colonies.ok("fs", "snapshot", "download", "-n", "s1", "-d", str(tmp_path / "d"))
    assert "downloaded 2 files" in out
    assert (tmp_path / "d" / "nested" / "n.txt").read_text() == "nested"
    again = await colonies.ok(
        "fs", "snapshot", "download", "-i", created["snapshotid"], "-d", str(tmp_path / "d")
    )
    assert "downloaded 0 files" in again and "2 already there" in again
    assert "already exists" in await colonies.error(
        "fs", "snapshot", "create", "-l", "/snap", "-n", "s1"
    )
    await colonies.ok("fs", "snapshot", "create", "-l", "/snap", "-n", "s2")
    listed = _table(await colonies.ok("fs", "snapshot", "ls", "--no-headers"))
    assert [row[0] for row in listed] == ["s1", "s2"]
    await colonies.ok("fs", "snapshot", "remove", "-n", "s1")
    assert "add --yes" in await colonies.error("fs", "snapshot", "removeall")
    await colonies.ok("fs", "snapshot", "removeall", "--yes")
    assert await colonies.ok("fs", "snapshot", "ls", "--no-headers") == ""


async def test_clean(colonies: Cli, tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "keep.txt").write_text("k")
    await colonies.ok("fs", "sync", "-l", "/c", "-d", str(work), "--yes")
    (work / "stray.txt").write_text("s")
    dry = await colonies.ok("fs", "clean", "-d", str(work), "--dry")
    assert dry.strip() == str(work / "stray.txt") and (work / "stray.txt").exists()
    assert "removed 1 local" in await colonies.ok("fs", "clean", "-d", str(work), "--yes")
    assert sorted(p.name for p in work.iterdir()) == [".cfs", "keep.txt"]


async def test_s3_failures_are_one_line_errors(
    colonies: Cli, s3_config: S3Config, server: RunningServer, fs_colony: Colony, tmp_path: Path
) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "f.txt").write_text("x")
    sync = ("fs", "sync", "-l", "/e", "-d", str(work), "--yes")

    missing = await colonies.error(*sync, AWS_S3_ENDPOINT=None, AWS_S3_SECRETKEY=None)
    assert "set AWS_S3_ENDPOINT, AWS_S3_SECRETKEY" in missing
    wrong = await colonies.error(*sync, AWS_S3_SECRETKEY="not-the-secret")
    assert "refused the credentials" in wrong
    port = free_port()
    unreachable = await colonies.error(*sync, AWS_S3_ENDPOINT=f"127.0.0.1:{port}")
    assert f"cannot reach S3 at http://127.0.0.1:{port}" in unreachable
    fresh = tmp_path / "fresh"
    assert "no label" in await colonies.error("fs", "sync", "-d", str(fresh), "--yes")

    # A tampered object: `fs get` refuses it and leaves no file.
    async with AsyncClient(server.url, fs_colony.user) as client:
        async with ColonyFS(client, fs_colony.name, s3_config) as colonyfs:
            added = await colonyfs.upload_bytes(b"original", "/e", "t.txt")
            await colonyfs.store.put_bytes(b"tampered", added.ref.s3object.object)
    mismatch = await colonies.error("fs", "get", "-i", added.fileid, "-d", str(tmp_path / "g"))
    assert "checksum mismatch" in mismatch
    assert not (tmp_path / "g" / "t.txt").exists()


async def test_function_submit_spec_and_snapshot_bad_input(colonies: Cli, tmp_path: Path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"funcname": "f", "conditions": {"executortype": "t"}}))
    both = await colonies.error("function", "submit", "--spec", str(spec), "--func", "g")
    assert "--spec describes the whole function: drop --func" in both
    assert "give --func, or a function spec with --spec" in await colonies.error(
        "function", "submit"
    )
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "is not valid JSON" in await colonies.error("function", "submit", "--spec", str(bad))
    no_mounts = await colonies.error("function", "submit", "--spec", str(spec), "--snapshot")
    assert "has no fs.snapshots" in no_mounts
    submitted = json.loads(
        await colonies.ok("function", "submit", "--spec", str(spec), "--label", "l", "-o", "json")
    )
    assert submitted["spec"]["funcname"] == "f" and submitted["spec"]["label"] == "l"
    assert submitted["spec"]["conditions"]["colonyname"] == colonies.env["COLONIES_COLONY_NAME"]
