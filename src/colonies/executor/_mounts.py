"""A function spec's ``fs`` section, carried out around a run (docs/protocol.md §13).

Before the run (when ``fs.mount`` is set): each snapshot mount is downloaded, then each dir
mount is synced (``onconflicts.onstart.keeplocal``). After it: a snapshot is removed unless
``keepsnapshot`` and its files unless ``keepfiles``; each dir is synced back
(``onconflicts.onclose.keeplocal``) and removed unless ``keepfiles``. ``{processid}`` in a
``dir`` or ``label`` is the process's ID. Every ``dir`` lives below the executor's own ColonyFS
directory; a path that would leave it is refused.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from colonies.client import AsyncClient, ColonyFS
from colonies.config import S3Config
from colonies.core import Process, SnapshotMount, SyncDirMount
from colonies.core.syncplan import mount_relative, substitute_processid

log = logging.getLogger(__name__)


class MountError(Exception):
    """The fs section could not be carried out; the message says which part and why."""


def mount_path(root: Path, dir: str, processid: str) -> Path:
    """Where a mount's ``dir`` is on this executor."""
    try:
        return root / mount_relative(substitute_processid(dir, processid))
    except ValueError as exc:
        raise MountError(str(exc)) from None


class Mounts:
    """ColonyFS for one executor: its directory, its S3 settings, its key."""

    def __init__(self, client: AsyncClient, colony: str, root: Path, s3: S3Config | None) -> None:
        self.client = client
        self.colony = colony
        self.root = root
        self.s3 = s3
        self._fs: ColonyFS | None = None

    def _colonyfs(self) -> ColonyFS:
        if self._fs is None:
            # Read the AWS_S3_* settings only when a process first asks for files.
            self._fs = ColonyFS(self.client, self.colony, self.s3 or S3Config.from_env())
        return self._fs

    async def close(self) -> None:
        if self._fs is not None:
            await self._fs.close()
            self._fs = None

    async def before(self, process: Process) -> None:
        """Fetch the inputs: snapshots, then synced dirs."""
        spec = process.spec.fs
        pid = process.processid
        try:
            colonyfs = self._colonyfs()
            for snap in spec.snapshots:
                if not snap.snapshotid:
                    raise MountError(
                        f"snapshot mount of {snap.label or snap.dir!r} has no snapshotid "
                        "(submit with --snapshot, or create one and set it)"
                    )
                target = mount_path(self.root, snap.dir, pid)
                await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
                result = await colonyfs.download_snapshot(target, snapshotid=snap.snapshotid)
                log.info(
                    "process %s: snapshot %s in %s (%d files, %d already there)",
                    pid, result.snapshot.name, target, len(result.downloaded), len(result.skipped),
                )  # fmt: skip
            for sync in spec.dirs:
                target = mount_path(self.root, sync.dir, pid)
                label = substitute_processid(sync.label, pid)
                await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
                await colonyfs.sync(target, label, sync.onconflicts.onstart.keeplocal)
        except MountError:
            raise
        except Exception as exc:
            raise MountError(str(exc) or type(exc).__name__) from exc

    async def after(self, process: Process, save: bool = True) -> None:
        """Save the results and clean up; every step runs, the failures are raised together.

        ``save=False`` (the inputs never arrived) only removes local files: nothing is synced
        back and the snapshots stay, for a retry.
        """
        spec = process.spec.fs
        pid = process.processid
        failures: list[str] = []
        if not save:
            mounts: list[SnapshotMount | SyncDirMount] = [*spec.snapshots, *spec.dirs]
            for mount in mounts:
                if not mount.keepfiles:
                    await self._remove(mount.dir, pid)
            return

        async def step(what: str, coro: object) -> None:
            try:
                await coro  # type: ignore[misc]
            except Exception as exc:
                failures.append(f"{what}: {exc}")

        colonyfs = self._colonyfs()
        for snap in spec.snapshots:
            if snap.snapshotid and not snap.keepsnapshot:
                await step(
                    f"remove snapshot {snap.snapshotid}",
                    colonyfs.remove_snapshot(snapshotid=snap.snapshotid),
                )
            if not snap.keepfiles:
                await step("remove snapshot files", self._remove(snap.dir, pid))
        for sync in spec.dirs:
            target = mount_path(self.root, sync.dir, pid)
            label = substitute_processid(sync.label, pid)
            await step(
                f"sync {target} to {label}",
                colonyfs.sync(target, label, sync.onconflicts.onclose.keeplocal),
            )
            if not sync.keepfiles:
                await step(f"remove {target}", self._remove(sync.dir, pid))
        if failures:
            raise MountError("; ".join(failures))

    async def _remove(self, dir: str, processid: str) -> None:
        target = mount_path(self.root, dir, processid)
        await asyncio.to_thread(shutil.rmtree, target, True)
