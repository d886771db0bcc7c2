"""ColonyFS rules without I/O: labels, sync plans, where mounted files go (docs/protocol.md §13).

A sync compares one local directory with one label: files only remote are downloaded, files
only local are uploaded, files on both sides with different SHA-256 checksums are conflicts,
resolved by uploading a new revision (keeplocal) or by downloading over the local file. A sync
never deletes anything; the ``.cfs`` marker file is never synced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

__all__ = [
    "CFS_FILE",
    "PlannedFile",
    "SyncPlan",
    "child_label",
    "in_subtree",
    "mount_relative",
    "normalize_label",
    "plan_directory",
    "snapshot_relative_dir",
    "substitute_processid",
]

#: The marker file a sync writes into each directory it syncs: ``{"label": ...}``.
CFS_FILE = ".cfs"


@dataclass(frozen=True)
class PlannedFile:
    """One file of a plan: its name in the directory, the checksum and size of the side that
    wins, and for a download the S3 object holding the bytes."""

    name: str
    checksum: str
    size: int
    object: str = ""


@dataclass
class SyncPlan:
    """What syncing one directory with one label will do."""

    dir: str
    label: str
    keeplocal: bool
    upload: list[PlannedFile] = field(default_factory=list)
    download: list[PlannedFile] = field(default_factory=list)
    conflicts: list[PlannedFile] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.upload or self.download or self.conflicts)

    @property
    def to_upload(self) -> list[PlannedFile]:
        """Every file this plan sends to S3 (new ones, and conflicts with keeplocal)."""
        return self.upload + (self.conflicts if self.keeplocal else [])

    @property
    def to_download(self) -> list[PlannedFile]:
        """Every file this plan fetches from S3 (missing ones, and conflicts without)."""
        return self.download + ([] if self.keeplocal else self.conflicts)


def normalize_label(label: str) -> str:
    """``data/``, ``/data`` and ``data`` are all ``/data``; the root is ``/``."""
    return "/" + label.strip().strip("/")


def child_label(label: str, relative_dir: str) -> str:
    """The label of a subdirectory (``a/b`` below ``/data`` is ``/data/a/b``)."""
    relative = relative_dir.strip("/")
    if not relative:
        return label
    return label.rstrip("/") + "/" + relative


def in_subtree(label: str, root: str) -> bool:
    """``label`` is ``root`` or below it (``/data2`` is not below ``/data``)."""
    if root == "/":
        return label.startswith("/")
    return label == root or label.startswith(root + "/")


def plan_directory(
    dir: str,
    label: str,
    local: Mapping[str, tuple[str, int]],
    remote: Iterable[PlannedFile],
    keeplocal: bool,
) -> SyncPlan:
    """The plan for one directory: ``local`` maps file names to (checksum, size); ``remote``
    holds the newest revision of each file name in the label."""
    plan = SyncPlan(dir=dir, label=label, keeplocal=keeplocal)
    remote_by_name = {f.name: f for f in remote if f.name != CFS_FILE}
    for name in sorted(local):
        if name == CFS_FILE:
            continue
        checksum, size = local[name]
        theirs = remote_by_name.get(name)
        if theirs is None:
            plan.upload.append(PlannedFile(name, checksum, size))
        elif theirs.checksum != checksum:
            plan.conflicts.append(PlannedFile(name, checksum, size) if keeplocal else theirs)
    for name in sorted(remote_by_name):
        if name not in local:
            plan.download.append(remote_by_name[name])
    return plan


def substitute_processid(text: str, processid: str) -> str:
    """A mount's ``dir`` and ``label`` may name the process: ``/results/{processid}``."""
    return text.replace("{processid}", processid)


def mount_relative(dir: str) -> PurePosixPath:
    """A mount's ``dir`` as a path relative to the executor's ColonyFS directory.

    ``/in`` and ``in`` are both ``in``; a path that climbs out (``../x``) is refused, so that a
    function spec cannot make an executor write outside its own directory.
    """
    parts = [p for p in PurePosixPath(dir).parts if p not in ("/", ".")]
    if ".." in parts:
        raise ValueError(f"mount dir {dir!r} must not contain '..'")
    return PurePosixPath(*parts)


def snapshot_relative_dir(file_label: str, snapshot_label: str) -> PurePosixPath:
    """Where a snapshot's file goes below the download directory: its label less the
    snapshot's (``/data/a`` of a snapshot of ``/data`` goes to ``a``)."""
    root = snapshot_label.rstrip("/")
    rest = file_label[len(root) :] if file_label.startswith(root) else file_label
    return mount_relative(rest)
