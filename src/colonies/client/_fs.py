"""ColonyFS: labelled, versioned file sets whose bytes live in S3 (docs/protocol.md §13).

The server keeps the metadata (files, labels, snapshots); this class moves the bytes between
local files and S3 itself and registers them, so the bytes never pass through the server::

    async with ColonyFS(client, "dev", S3Config.from_env()) as fs:
        plans = await fs.plan_sync("results", "/results")
        await fs.apply(plans)

Transfers run concurrently, at most ``concurrency`` at a time.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from colonies.client._client import AsyncClient
from colonies.client._s3 import ColonyFSError, Progress, S3Store, hash_file
from colonies.config import S3Config
from colonies.core import File, FileData, Label, Reference, S3Object, Snapshot
from colonies.core.syncplan import (
    CFS_FILE,
    PlannedFile,
    SyncPlan,
    child_label,
    in_subtree,
    normalize_label,
    plan_directory,
    snapshot_relative_dir,
)
from colonies.crypto import new_random_id

T = TypeVar("T")

__all__ = [
    "CFS_FILE",
    "ColonyFS",
    "SnapshotDownload",
    "read_cfs_label",
    "safe_name",
    "write_cfs_label",
]


def safe_name(name: str) -> str:
    """A file name from ColonyFS as a single path component; anything that could land outside
    the target directory (``a/b``, ``..``) is refused."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ColonyFSError(f"refusing unsafe file name {name!r}")
    return name


def read_cfs_label(dir: Path) -> str:
    """The label a directory was synced with (its ``.cfs`` file), or ""."""
    try:
        data = json.loads((dir / CFS_FILE).read_text())
    except FileNotFoundError:
        return ""
    except (OSError, ValueError) as exc:
        raise ColonyFSError(f"cannot read {dir / CFS_FILE}: {exc}") from None
    label = data.get("label", "") if isinstance(data, dict) else ""
    return label if isinstance(label, str) else ""


def write_cfs_label(dir: Path, label: str) -> None:
    """Create ``dir`` if needed and record the label it syncs with."""
    dir.mkdir(parents=True, exist_ok=True)
    (dir / CFS_FILE).write_text(json.dumps({"label": label}))


def _file_names(dir: Path) -> list[str]:
    """The regular files of one directory that a sync considers (not ``.cfs``, not partial
    downloads)."""
    if not dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in os.scandir(dir)
        if entry.name != CFS_FILE and entry.is_file() and ".colonyfs-part" not in entry.name
    )


def _label_dirs(dir: Path, label: str, must_exist: bool = False) -> tuple[Path, dict[str, Path]]:
    """``dir`` resolved, and the label of it and of every directory below it."""
    root = dir.resolve()
    if root.exists() and not root.is_dir():
        raise ColonyFSError(f"{root} is not a directory")
    if not root.exists():
        if must_exist:
            raise ColonyFSError(f"{root} is not a directory")
        return root, {label: root}
    dirs: dict[str, Path] = {}
    for current, subdirs, _files in os.walk(root):
        subdirs.sort()
        relative = Path(current).relative_to(root).as_posix()
        dirs[child_label(label, "" if relative == "." else relative)] = Path(current)
    return root, dirs


def _checksum_if_file(path: Path) -> str:
    return hash_file(path)[0] if path.is_file() else ""


@dataclass(frozen=True)
class SnapshotDownload:
    """What downloading a snapshot did: files fetched and files already there."""

    snapshot: Snapshot
    downloaded: list[Path]
    skipped: list[Path]


async def _bounded(limit: asyncio.Semaphore, work: Iterable[Awaitable[T]]) -> list[T]:
    """Run every awaitable, at most ``limit`` at a time; the first failure cancels the rest."""

    async def one(item: Awaitable[T]) -> T:
        async with limit:
            return await item

    tasks = [asyncio.ensure_future(one(item)) for item in work]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class ColonyFS:
    """File operations of one colony, signed with the client's key."""

    def __init__(
        self,
        client: AsyncClient,
        colony: str,
        s3: S3Config | S3Store | None = None,
        *,
        concurrency: int = 8,
    ) -> None:
        self.client = client
        self.colony = colony
        if s3 is None:
            s3 = S3Config.from_env()
        self.store = s3 if isinstance(s3, S3Store) else S3Store(s3, concurrency=concurrency)
        self._limit = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> ColonyFS:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _each(self, work: Iterable[Awaitable[T]]) -> list[T]:
        return await _bounded(self._limit, work)

    # --- one file -----------------------------------------------------------------------------
    def _new_file(self, label: str, name: str, key: str, checksum: str, size: int) -> File:
        """The metadata of an upload, in the shape pycolonies writes: the endpoint split in
        ``server`` and ``port``, and no credentials (each reader uses its own)."""
        config = self.store.config
        return File(
            colonyname=self.colony,
            label=normalize_label(label),
            name=safe_name(name),
            size=size,
            checksum=checksum,
            checksumalg="SHA256",
            ref=Reference(
                protocol="s3",
                s3object=S3Object(
                    server=config.host,
                    port=config.port,
                    tls=config.tls,
                    region=config.region,
                    object=key,
                    bucket=self.store.bucket,
                ),
            ),
        )

    async def _register(self, file: File) -> File:
        try:
            return await self.client.add_file(file)
        except BaseException:
            # The metadata did not land: do not leave an object nobody can find.
            if file.size > 0:
                await asyncio.shield(self._forget_object(file.ref.s3object.object))
            raise

    async def _forget_object(self, key: str) -> None:
        try:
            await self.store.remove(self.store.bucket, key)
        except ColonyFSError:
            pass

    async def upload_file(
        self, path: Path | str, label: str, name: str = "", progress: Progress | None = None
    ) -> File:
        """Upload a local file as a new revision of ``label``/``name`` (name: the file's)."""
        path = Path(path)
        if not await asyncio.to_thread(path.is_file):
            raise ColonyFSError(f"{path} is not a file")
        key = new_random_id()
        checksum, size = await self.store.put_file(path, key, progress)
        return await self._register(self._new_file(label, name or path.name, key, checksum, size))

    async def upload_bytes(self, data: bytes, label: str, name: str) -> File:
        key = new_random_id()
        checksum = await self.store.put_bytes(data, key)
        return await self._register(self._new_file(label, name, key, checksum, len(data)))

    async def file(self, *, fileid: str = "", label: str = "", name: str = "") -> File:
        """The revision ``fileid``, or the latest revision of ``label``/``name``."""
        if fileid:
            files = await self.client.get_file(self.colony, fileid=fileid)
        elif label and name:
            files = await self.client.get_file(
                self.colony, label=normalize_label(label), name=name, latest=True
            )
        else:
            raise ColonyFSError("give a file ID, or a label and a name")
        if len(files) != 1:
            raise ColonyFSError(f"expected one file, the server returned {len(files)}")
        return files[0]

    async def revisions(self, label: str, name: str) -> list[File]:
        """Every revision of ``label``/``name``, newest first."""
        return await self.client.get_file(
            self.colony, label=normalize_label(label), name=name, latest=False
        )

    def _checksum_of(self, file: File) -> str:
        # Only SHA-256 is understood; another algorithm's value cannot be checked here.
        return file.checksum if file.checksumalg.upper() in ("SHA256", "SHA-256", "") else ""

    async def download(self, file: File, dir: Path | str, progress: Progress | None = None) -> Path:
        """Download one revision to ``dir``/its name; the checksum is verified first."""
        target = Path(dir) / safe_name(file.name)
        s3object = file.ref.s3object
        await self.store.get_file(
            s3object.bucket, s3object.object, target, self._checksum_of(file), file.size, progress
        )
        return target

    async def download_bytes(self, file: File) -> bytes:
        s3object = file.ref.s3object
        return await self.store.get_bytes(
            s3object.bucket, s3object.object, self._checksum_of(file), file.size
        )

    async def list_files(self, label: str) -> list[FileData]:
        """The newest revision of each file name in ``label`` (not below it)."""
        return await self.client.get_files(self.colony, normalize_label(label))

    async def labels(self, under: str = "/") -> list[Label]:
        """Labels at or below ``under``."""
        root = normalize_label(under)
        found = await self.client.get_file_labels(self.colony, root if root != "/" else "")
        return [label for label in found if in_subtree(label.name, root)]

    async def remove(self, *, fileid: str = "", label: str = "", name: str = "") -> int:
        """Remove one revision (``fileid``) or every revision of ``label``/``name``, objects
        first; the number of revisions removed."""
        if fileid:
            revisions = [await self.file(fileid=fileid)]
        elif label and name:
            revisions = await self.revisions(label, name)
        else:
            raise ColonyFSError("give a file ID, or a label and a name")
        await self._remove_revisions(revisions)
        return len(revisions)

    async def _remove_revisions(self, revisions: Sequence[File]) -> None:
        await self._each(
            self.store.remove(f.ref.s3object.bucket, f.ref.s3object.object)
            for f in revisions
            if f.size > 0
        )
        for f in revisions:
            await self.client.remove_file(self.colony, fileid=f.fileid)

    async def remove_label(self, label: str) -> int:
        """Remove every file (every revision, objects too) in ``label`` and the labels below
        it; the number of revisions removed."""
        revisions: list[File] = []
        for found in await self.labels(label):
            for data in await self.client.get_files(self.colony, found.name):
                revisions += await self.revisions(found.name, data.name)
        await self._remove_revisions(revisions)
        return len(revisions)

    # --- snapshots ----------------------------------------------------------------------------
    async def create_snapshot(self, label: str, name: str) -> Snapshot:
        """Freeze the latest revision of every file in ``label`` and below (unique name)."""
        return await self.client.create_snapshot(self.colony, normalize_label(label), name)

    async def snapshot(self, *, snapshotid: str = "", name: str = "") -> Snapshot:
        if not snapshotid and not name:
            raise ColonyFSError("give a snapshot ID or a snapshot name")
        return await self.client.get_snapshot(self.colony, snapshotid=snapshotid, name=name)

    async def snapshots(self) -> list[Snapshot]:
        return await self.client.get_snapshots(self.colony)

    async def remove_snapshot(self, *, snapshotid: str = "", name: str = "") -> None:
        """Remove a snapshot (its files stay)."""
        if not snapshotid and not name:
            raise ColonyFSError("give a snapshot ID or a snapshot name")
        await self.client.remove_snapshot(self.colony, snapshotid=snapshotid, name=name)

    async def remove_all_snapshots(self) -> None:
        await self.client.remove_all_snapshots(self.colony)

    async def snapshot_files(self, snapshot: Snapshot) -> list[File]:
        async def one(fileid: str) -> File:
            return await self.file(fileid=fileid)

        return await self._each(one(fileid) for fileid in snapshot.fileids)

    async def download_snapshot(
        self,
        dir: Path | str,
        *,
        snapshotid: str = "",
        name: str = "",
        progress: Progress | None = None,
    ) -> SnapshotDownload:
        """Download a snapshot's files to ``dir`` + (file label less the snapshot's label);
        files whose local checksum already matches are skipped."""
        snapshot = await self.snapshot(snapshotid=snapshotid, name=name)
        files = await self.snapshot_files(snapshot)
        root = Path(dir)
        downloaded: list[Path] = []
        skipped: list[Path] = []

        async def one(file: File) -> None:
            try:
                relative = snapshot_relative_dir(file.label, snapshot.label)
            except ValueError as exc:
                raise ColonyFSError(f"snapshot {snapshot.name}: {exc}") from None
            target_dir = root / relative
            target = target_dir / safe_name(file.name)
            if await asyncio.to_thread(_checksum_if_file, target) == file.checksum:
                skipped.append(target)
                return
            downloaded.append(await self.download(file, target_dir, progress))

        await self._each(one(f) for f in files)
        return SnapshotDownload(snapshot, sorted(downloaded), sorted(skipped))

    # --- sync ---------------------------------------------------------------------------------
    async def _local_files(self, dir: Path) -> dict[str, tuple[str, int]]:
        names = await asyncio.to_thread(_file_names, dir)

        async def one(name: str) -> tuple[str, int]:
            return await asyncio.to_thread(hash_file, dir / name)

        sums = await self._each(one(n) for n in names)
        return dict(zip(names, sums, strict=True))

    async def _remote_files(self, label: str) -> list[PlannedFile]:
        return [
            PlannedFile(safe_name(d.name), d.checksum, d.size, d.s3filename)
            for d in await self.client.get_files(self.colony, label)
        ]

    async def plan_sync(self, dir: Path | str, label: str, keeplocal: bool) -> list[SyncPlan]:
        """One plan per directory: ``dir`` and its subdirectories (``dir/a/b`` is label
        ``LABEL/a/b``), and each remote label below ``label`` that has no local directory."""
        label = normalize_label(label)
        root, dirs = await asyncio.to_thread(_label_dirs, Path(dir), label)
        for remote in await self.labels(label):
            if remote.name not in dirs:
                try:
                    relative = snapshot_relative_dir(remote.name, label)
                except ValueError as exc:
                    raise ColonyFSError(f"label {remote.name}: {exc}") from None
                dirs[remote.name] = root / relative

        async def one(one_label: str, one_dir: Path) -> SyncPlan:
            local, remote = await asyncio.gather(
                self._local_files(one_dir), self._remote_files(one_label)
            )
            return plan_directory(str(one_dir), one_label, local, remote, keeplocal)

        # Per directory one RPC and the local checksums; a few directories at a time (the
        # files themselves are hashed at most ``concurrency`` at a time overall).
        return await _bounded(
            asyncio.Semaphore(4), (one(lbl, d) for lbl, d in sorted(dirs.items()))
        )

    async def apply(self, plans: Sequence[SyncPlan], progress: Progress | None = None) -> None:
        """Carry out plans: uploads, downloads, and conflicts as each plan says; a ``.cfs``
        marker in each directory that changed."""
        work: list[Awaitable[Any]] = []
        for plan in plans:
            if plan.empty:
                continue
            directory = Path(plan.dir)
            await asyncio.to_thread(write_cfs_label, directory, plan.label)
            for item in plan.to_upload:
                work.append(
                    self.upload_file(directory / item.name, plan.label, item.name, progress)
                )
            for item in plan.to_download:
                work.append(
                    self.store.get_file(
                        "",  # FileData carries no bucket: ours, as upstream's client does
                        item.object,
                        directory / safe_name(item.name),
                        item.checksum,
                        item.size,
                        progress,
                    )
                )
        await self._each(work)

    async def sync(
        self,
        dir: Path | str,
        label: str,
        keeplocal: bool = True,
        progress: Progress | None = None,
    ) -> list[SyncPlan]:
        """Plan and apply in one call; the plans carried out."""
        plans = await self.plan_sync(dir, label, keeplocal)
        await self.apply(plans, progress)
        return plans

    async def plan_clean(self, dir: Path | str, label: str) -> list[Path]:
        """Local files and directories below ``dir`` that ColonyFS does not have under
        ``label`` (what ``clean`` would remove)."""
        label = normalize_label(label)
        known = {found.name for found in await self.labels(label)}
        if not known:
            raise ColonyFSError(f"label {label} has no files in ColonyFS")
        _root, dirs = await asyncio.to_thread(_label_dirs, Path(dir), label, must_exist=True)
        doomed: list[Path] = []
        for here, current in sorted(dirs.items()):
            if not any(in_subtree(k, here) for k in known):
                # The whole directory is unknown: it goes, once, at its top.
                if not any(current.is_relative_to(d) for d in doomed):
                    doomed.append(current)
                continue
            remote = {d.name for d in await self.client.get_files(self.colony, here)}
            names = await asyncio.to_thread(_file_names, current)
            doomed += [current / name for name in names if name not in remote]
        return doomed

    @staticmethod
    def clean(doomed: Iterable[Path]) -> None:
        """Remove what :meth:`plan_clean` found."""
        for path in doomed:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
