"""ColonyFS through the SDK: a real server, a real SeaweedFS, bytes checked end to end."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from colonies.client import (
    AsyncClient,
    ChecksumMismatch,
    ColonyFS,
    ColonyFSError,
    S3AccessDenied,
    S3Store,
    S3Unreachable,
)
from colonies.client._s3 import PART_SIZE
from colonies.config import S3Config
from colonies.core import File
from colonies.crypto import PrivateKey
from tests.helpers import Colony, RunningServer, make_colony
from tests.support import free_port


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
async def fs_colony(server: RunningServer, server_key: PrivateKey) -> Colony:
    return await make_colony(server.rpc, server_key, "secp256k1")


@pytest.fixture
async def fs(
    server: RunningServer, fs_colony: Colony, s3_config: S3Config
) -> AsyncIterator[ColonyFS]:
    client = AsyncClient(server.url, fs_colony.user)
    async with ColonyFS(client, fs_colony.name, s3_config, concurrency=4) as colonyfs:
        yield colonyfs
    await client.close()


async def object_exists(fs: ColonyFS, file: File) -> bool:
    try:
        await fs.store.get_bytes(file.ref.s3object.bucket, file.ref.s3object.object, "", 1)
    except ColonyFSError as exc:
        assert "NoSuchKey" in str(exc)
        return False
    return True


async def test_upload_and_download_with_checksums_and_pycolonies_shaped_metadata(
    fs: ColonyFS, s3_config: S3Config, tmp_path: Path
) -> None:
    source = tmp_path / "in" / "hello.txt"
    source.parent.mkdir()
    source.write_bytes(b"hello colonyfs\n")
    added = await fs.upload_file(source, "data/")
    assert added.label == "/data" and added.name == "hello.txt" and added.sequencenr > 0
    assert added.size == 15 and added.checksum == sha(b"hello colonyfs\n")
    assert added.checksumalg == "SHA256" and added.ref.protocol == "s3"
    s3object = added.ref.s3object
    assert (s3object.server, s3object.port) == ("127.0.0.1", s3_config.port)
    assert s3object.bucket == s3_config.bucket and len(s3object.object) == 64
    assert s3object.accesskey == "" and s3object.secretkey == ""  # no credentials in metadata

    second = await fs.upload_bytes(b"second revision", "/data", "hello.txt")
    latest = await fs.file(label="/data", name="hello.txt")
    assert latest.fileid == second.fileid
    assert [f.fileid for f in await fs.revisions("/data", "hello.txt")] == [
        second.fileid, added.fileid,
    ]  # fmt: skip

    out = tmp_path / "out"
    got = await fs.download(latest, out)
    assert got == out / "hello.txt" and got.read_bytes() == b"second revision"
    first = await fs.download(await fs.file(fileid=added.fileid), out / "old")
    assert first.read_bytes() == b"hello colonyfs\n"
    assert await fs.download_bytes(second) == b"second revision"
    assert [d.name for d in await fs.list_files("data")] == ["hello.txt"]


async def test_large_files_go_up_in_parts(fs: ColonyFS, tmp_path: Path) -> None:
    data = os.urandom(PART_SIZE + 123_457)
    (tmp_path / "big.bin").write_bytes(data)
    moved: list[int] = []
    added = await fs.upload_file(tmp_path / "big.bin", "/big", progress=moved.append)
    assert added.size == len(data) and added.checksum == sha(data) and sum(moved) == len(data)
    got = await fs.download(added, tmp_path / "back")
    assert got.read_bytes() == data


async def test_zero_byte_files_have_no_object(fs: ColonyFS, tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    added = await fs.upload_file(tmp_path / "empty", "/e")
    assert added.size == 0 and added.checksum == sha(b"")
    assert not await object_exists(fs, added)
    got = await fs.download(added, tmp_path / "out")
    assert got.exists() and got.read_bytes() == b""


async def test_a_checksum_mismatch_writes_nothing(fs: ColonyFS, tmp_path: Path) -> None:
    added = await fs.upload_bytes(b"the real bytes", "/c", "f.txt")
    # Someone replaces the object behind ColonyFS's back.
    await fs.store.put_bytes(b"tampered bytes", added.ref.s3object.object)
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.txt").write_bytes(b"my local copy")
    with pytest.raises(ChecksumMismatch, match="checksum mismatch"):
        await fs.download(added, out)
    assert (out / "f.txt").read_bytes() == b"my local copy"
    assert sorted(p.name for p in out.iterdir()) == ["f.txt"]  # no partial file left
    with pytest.raises(ChecksumMismatch):
        await fs.download_bytes(added)


async def test_remove_takes_the_objects_too(fs: ColonyFS) -> None:
    one = await fs.upload_bytes(b"1", "/r", "a.txt")
    two = await fs.upload_bytes(b"2", "/r", "a.txt")
    other = await fs.upload_bytes(b"3", "/r", "b.txt")
    assert await fs.remove(fileid=one.fileid) == 1
    assert not await object_exists(fs, one) and await object_exists(fs, two)
    assert [f.fileid for f in await fs.revisions("/r", "a.txt")] == [two.fileid]
    await fs.upload_bytes(b"4", "/r", "a.txt")
    assert await fs.remove(label="/r", name="a.txt") == 2
    assert not await object_exists(fs, two)
    assert [d.name for d in await fs.list_files("/r")] == ["b.txt"]
    assert await object_exists(fs, other)
    with pytest.raises(ColonyFSError, match="file ID, or a label and a name"):
        await fs.remove(label="/r")


async def test_labels_and_removing_a_label_subtree(fs: ColonyFS) -> None:
    await fs.upload_bytes(b"a", "/proj", "a")
    sub = await fs.upload_bytes(b"b", "/proj/sub", "b")
    await fs.upload_bytes(b"b2", "/proj/sub", "b")
    neighbour = await fs.upload_bytes(b"c", "/proj2", "c")
    assert [(lbl.name, lbl.files) for lbl in await fs.labels("/proj")] == [
        ("/proj", 1), ("/proj/sub", 1),
    ]  # fmt: skip
    assert {lbl.name for lbl in await fs.labels()} == {"/proj", "/proj/sub", "/proj2"}
    assert await fs.remove_label("/proj") == 3  # every revision, not only the newest
    assert not await object_exists(fs, sub)
    assert [lbl.name for lbl in await fs.labels()] == ["/proj2"]
    assert await object_exists(fs, neighbour)


async def test_snapshots_freeze_download_skip_and_remove(fs: ColonyFS, tmp_path: Path) -> None:
    await fs.upload_bytes(b"top", "/ds", "top.txt")
    await fs.upload_bytes(b"deep", "/ds/a/b", "deep.txt")
    await fs.upload_bytes(b"not mine", "/ds2", "x.txt")
    snap = await fs.create_snapshot("/ds/", "v1")  # upstream's CLI sends a trailing /
    assert snap.label == "/ds" and len(snap.fileids) == 2
    await fs.upload_bytes(b"top v2", "/ds", "top.txt")  # later changes do not alter it

    out = tmp_path / "snap"
    result = await fs.download_snapshot(out, name="v1")
    assert [p.relative_to(out).as_posix() for p in result.downloaded] == [
        "a/b/deep.txt", "top.txt",
    ]  # fmt: skip
    assert (out / "top.txt").read_bytes() == b"top" and result.skipped == []
    again = await fs.download_snapshot(out, snapshotid=snap.snapshotid)
    assert again.downloaded == [] and len(again.skipped) == 2

    with pytest.raises(Exception, match="already exists"):
        await fs.create_snapshot("/ds", "v1")
    await fs.create_snapshot("/ds", "v2")
    assert [s.name for s in await fs.snapshots()] == ["v1", "v2"]
    assert (await fs.snapshot(name="v2")).fileids != snap.fileids
    await fs.remove_snapshot(name="v1")
    assert [s.name for s in await fs.snapshots()] == ["v2"]
    await fs.remove_all_snapshots()
    assert await fs.snapshots() == []
    assert len(await fs.labels("/ds")) == 2  # files outlive their snapshots


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def test_sync_uploads_downloads_resolves_conflicts_and_never_deletes(
    fs: ColonyFS, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "a.txt").write_bytes(b"a")
    (mine / "sub" / "b.txt").write_bytes(b"b")
    (mine / "empty").write_bytes(b"")
    plans = await fs.sync(mine, "proj")
    assert [(p.label, [f.name for f in p.upload]) for p in plans] == [
        ("/proj", ["a.txt", "empty"]), ("/proj/sub", ["b.txt"]),
    ]  # fmt: skip
    assert json.loads((mine / ".cfs").read_text()) == {"label": "/proj"}
    assert all(p.empty for p in await fs.plan_sync(mine, "/proj", keeplocal=True))

    # Another machine: an empty directory gets everything, subdirectories included.
    theirs = tmp_path / "theirs"
    await fs.sync(theirs, "/proj", keeplocal=False)
    assert _tree(theirs) == {
        ".cfs": b'{"label": "/proj"}', "a.txt": b"a", "empty": b"",
        "sub/.cfs": b'{"label": "/proj/sub"}', "sub/b.txt": b"b",
    }  # fmt: skip

    # Both sides change a.txt; a file is removed locally (sync never deletes: it comes back).
    (theirs / "a.txt").write_bytes(b"theirs")
    await fs.sync(theirs, "/proj", keeplocal=True)  # keeplocal: a new revision goes up
    (mine / "a.txt").write_bytes(b"mine, unsynced")
    (mine / "sub" / "b.txt").unlink()
    plans = await fs.plan_sync(mine, "/proj", keeplocal=False)
    by_label = {p.label: p for p in plans}
    assert [f.name for f in by_label["/proj"].conflicts] == ["a.txt"]
    assert [f.name for f in by_label["/proj/sub"].download] == ["b.txt"]
    await fs.apply(plans)  # keepremote: the local file is overwritten
    assert (mine / "a.txt").read_bytes() == b"theirs"
    assert (mine / "sub" / "b.txt").read_bytes() == b"b"
    assert len(await fs.revisions("/proj", "a.txt")) == 2


async def test_sync_of_a_file_path_is_refused(fs: ColonyFS, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(ColonyFSError, match="is not a directory"):
        await fs.plan_sync(tmp_path / "f", "/x", keeplocal=True)


async def test_clean_removes_what_colonyfs_does_not_have(fs: ColonyFS, tmp_path: Path) -> None:
    root = tmp_path / "c"
    (root / "kept").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a")
    (root / "kept" / "k.txt").write_bytes(b"k")
    await fs.sync(root, "/clean")
    (root / "stray.txt").write_bytes(b"s")
    (root / "strays" / "deeper").mkdir(parents=True)
    (root / "strays" / "deeper" / "x").write_bytes(b"x")
    (root / "kept" / "stray2").write_bytes(b"s")
    doomed = await fs.plan_clean(root, "/clean")
    assert sorted(p.relative_to(root).as_posix() for p in doomed) == [
        "kept/stray2", "stray.txt", "strays",
    ]  # fmt: skip
    fs.clean(doomed)
    assert sorted(_tree(root)) == [".cfs", "a.txt", "kept/.cfs", "kept/k.txt"]
    with pytest.raises(ColonyFSError, match="has no files"):
        await fs.plan_clean(root, "/nothing-here")


async def test_unsafe_names_from_metadata_are_refused(fs: ColonyFS, tmp_path: Path) -> None:
    evil = File(
        colonyname=fs.colony, label="/evil", name="../escaped.txt", size=1, checksum="x",
        checksumalg="SHA256",
    )  # fmt: skip
    added = await fs.client.add_file(evil)  # the server stores any name
    with pytest.raises(ColonyFSError, match="unsafe file name"):
        await fs.download(added, tmp_path / "d")
    with pytest.raises(ColonyFSError, match="unsafe file name"):
        await fs.plan_sync(tmp_path / "d", "/evil", keeplocal=False)
    assert not (tmp_path / "escaped.txt").exists()


async def test_wrong_credentials_and_an_unreachable_endpoint_are_clear(
    s3_config: S3Config,
) -> None:
    async with S3Store(replace(s3_config, secret_key="wrong-secret")) as store:
        with pytest.raises(S3AccessDenied, match="AWS_S3_SECRETKEY"):
            await store.put_bytes(b"x", "k")
    async with S3Store(replace(s3_config, endpoint=f"127.0.0.1:{free_port()}")) as store:
        with pytest.raises(S3Unreachable, match=r"cannot reach S3 at http://127\.0\.0\.1:"):
            await store.put_bytes(b"x", "k")
    async with S3Store(replace(s3_config, bucket="x")) as store:
        with pytest.raises(ColonyFSError, match="AWS_S3_BUCKET"):
            await store.put_bytes(b"x", "k")
