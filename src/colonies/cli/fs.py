"""``colonies fs``: ColonyFS files, labels and snapshots, with upstream's commands and flags.

The bytes go between this machine and S3 directly (AWS_S3_* settings); the server only keeps
the metadata (docs/colonyfs.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import click

from colonies import _aio as aio
from colonies.cli._common import MEMBER, Env, errors, fail, pass_env
from colonies.cli._output import Column, emit, output_option, output_options, when
from colonies.client import ColonyFS, read_cfs_label
from colonies.client._s3 import Progress
from colonies.config import ConfigError, S3Config
from colonies.core import File, Snapshot
from colonies.core.syncplan import SyncPlan, normalize_label

T = TypeVar("T")

S3_VARIABLES = (
    "S3: AWS_S3_ENDPOINT (host:port), AWS_S3_ACCESSKEY, AWS_S3_SECRETKEY, AWS_S3_BUCKET, "
    "AWS_S3_REGION, AWS_S3_TLS, AWS_S3_SKIPVERIFY."
)
FS = f"{MEMBER} {S3_VARIABLES}"

FILE_COLUMNS: list[Column] = [
    ("NAME", lambda f: f.name),
    ("LABEL", lambda f: f.label),
    ("SIZE", lambda f: _size(f.size)),
    ("FILEID", lambda f: f.fileid),
    ("SEQ", lambda f: f.sequencenr),
    ("ADDED", lambda f: when(f.added)),
    ("SHA256", lambda f: f.checksum),
]
SNAPSHOT_COLUMNS: list[Column] = [
    ("NAME", lambda s: s.name),
    ("LABEL", lambda s: s.label),
    ("FILES", lambda s: len(s.fileids)),
    ("SNAPSHOTID", lambda s: s.snapshotid),
    ("ADDED", lambda s: when(s.added)),
]
LABEL_COLUMNS: list[Column] = [("LABEL", lambda lbl: lbl.name), ("FILES", lambda lbl: lbl.files)]
PLAN_COLUMNS: list[Column] = [
    ("ACTION", lambda row: row[0]),
    ("LABEL", lambda row: row[1]),
    ("FILE", lambda row: row[2]),
    ("SIZE", lambda row: _size(row[3])),
]


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


# --- plumbing ---------------------------------------------------------------------------------
def _run(env: Env, work: Callable[[ColonyFS], Awaitable[T]]) -> T:
    """Run ``work`` with a ColonyFS of the colony, signed with the user's key."""
    try:
        s3 = S3Config.from_env()
    except ConfigError as exc:
        fail(str(exc))
    colony = env.colony()

    async def main() -> T:
        async with env.async_client() as client, ColonyFS(client, colony, s3) as colonyfs:
            return await work(colonyfs)

    return aio.run(main())


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Progress | None]:
    """A byte progress bar on stderr when it is a terminal (nothing otherwise)."""
    if total <= 0 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=False) as bar:
        yield bar.update


def _confirm(yes: bool, question: str) -> None:
    """Go on with --yes or a "yes" typed at a terminal; scripts must pass --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"{question} (not asked without a terminal: add --yes)")
    if not click.confirm(question, default=False, err=True):
        fail("aborted, nothing changed")


def _label_for(label: str | None, dir: Path) -> str:
    chosen = label or read_cfs_label(dir)
    if not chosen:
        fail(f"no label: pass --label, or sync {dir} once with one (it is kept in {dir}/.cfs)")
    return normalize_label(chosen)


def _one_file_ref(fileid: str | None, label: str | None, name: str | None) -> dict[str, str]:
    if fileid:
        return {"fileid": fileid}
    if label and name:
        return {"label": label, "name": name}
    fail("give --fileid, or --label and --name")


def _one_snapshot_ref(snapshotid: str | None, name: str | None) -> dict[str, str]:
    if snapshotid:
        return {"snapshotid": snapshotid}
    if name:
        return {"name": name}
    fail("give --snapshotid or --snapshotname")


def _plan_rows(plans: Sequence[SyncPlan]) -> list[tuple[str, str, str, int]]:
    rows: list[tuple[str, str, str, int]] = []
    for plan in plans:
        rows += [("upload", plan.label, f.name, f.size) for f in plan.upload]
        rows += [("download", plan.label, f.name, f.size) for f in plan.download]
        resolution = "replace remote" if plan.keeplocal else "replace local"
        rows += [(resolution, plan.label, f.name, f.size) for f in plan.conflicts]
    return rows


def _plan_summary(plans: Sequence[SyncPlan]) -> str:
    up = sum(len(p.upload) for p in plans)
    down = sum(len(p.download) for p in plans)
    conflicts = sum(len(p.conflicts) for p in plans)
    keeplocal = plans[0].keeplocal if plans else True
    resolution = "keep local (upload)" if keeplocal else "keep remote (download)"
    return f"upload {up}, download {down}, conflicts {conflicts} ({resolution})"


def _transfer_bytes(plans: Sequence[SyncPlan]) -> int:
    return sum(f.size for p in plans for f in p.to_upload + p.to_download)


@click.group("fs")
def fs() -> None:
    """ColonyFS: directories synced to labels, files with revisions, snapshots; bytes in S3.

    The server keeps only the metadata; this command moves the bytes to and from S3 itself,
    configured by the AWS_S3_* variables (`colonies dev` writes them into its dev.env).
    """


dir_option = click.option(
    "-d", "--dir", "directory", type=click.Path(path_type=Path), help="Local directory."
)
label_option = click.option("-l", "--label", help="Label (a leading / is added).")
yes_option = click.option("--yes", is_flag=True, help="Do not ask; for scripts.")


# --- sync and clean ---------------------------------------------------------------------------
@fs.command("sync", epilog=FS)
@dir_option
@label_option
@click.option("--dry", is_flag=True, help="Show the plan as a table; change nothing.")
@yes_option
@click.option(
    "--keeplocal", type=click.BOOL, default=True, is_flag=False, flag_value=True,
    show_default=True, metavar="[BOOL]",
    help="On a conflict upload the local file as a new revision; --keeplocal=false downloads "
    "the remote one over it.",
)  # fmt: skip
@click.option("--syncplans", is_flag=True, help="Print the plan as a table before syncing.")
@click.option("--quiet", "--quite", "quiet", is_flag=True, help="No output (needs --yes).")
@pass_env
@errors
def fs_sync(
    env: Env,
    directory: Path | None,
    label: str | None,
    dry: bool,
    yes: bool,
    keeplocal: bool,
    syncplans: bool,
    quiet: bool,
) -> None:
    """Sync a directory (and its subdirectories) with a label, both ways.

    Files only here are uploaded, files only in ColonyFS downloaded; a file on both sides with
    a different SHA-256 is a conflict (see --keeplocal). Nothing is ever deleted. The label is
    remembered in DIR/.cfs, so later syncs need only -d.
    """
    if quiet and not yes:
        fail("--quiet needs --yes")
    directory = directory or Path.cwd()
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} is not a directory")
    chosen = _label_for(label, directory)

    async def work(colonyfs: ColonyFS) -> None:
        plans = await colonyfs.plan_sync(directory, chosen, keeplocal)
        if all(p.empty for p in plans):
            if not quiet:
                click.echo(f"{directory} and {chosen} are in sync: nothing to do")
            return
        rows = _plan_rows(plans)
        if dry or syncplans:
            emit(rows, PLAN_COLUMNS, "table")
        if not quiet:
            click.echo(_plan_summary(plans), err=dry or syncplans)
        if dry:
            return
        _confirm(yes, f"Sync {directory} with {chosen}?")
        with _progress(_transfer_bytes(plans), f"syncing {chosen}") as progress:
            await colonyfs.apply(plans, progress)
        if not quiet:
            click.echo(f"synced {directory} with {chosen}: {len(rows)} files moved")

    _run(env, work)


@fs.command("clean", epilog=FS)
@dir_option
@label_option
@click.option("--dry", is_flag=True, help="Show what would be removed; change nothing.")
@yes_option
@click.option("--cleanplans", is_flag=True, help="Print the files to remove before removing.")
@click.option("--quiet", "--quite", "quiet", is_flag=True, help="No output (needs --yes).")
@pass_env
@errors
def fs_clean(
    env: Env,
    directory: Path | None,
    label: str | None,
    dry: bool,
    yes: bool,
    cleanplans: bool,
    quiet: bool,
) -> None:
    """Remove local files and directories that ColonyFS does not have under the label."""
    if quiet and not yes:
        fail("--quiet needs --yes")
    directory = directory or Path.cwd()
    chosen = _label_for(label, directory)

    async def work(colonyfs: ColonyFS) -> None:
        doomed = await colonyfs.plan_clean(directory, chosen)
        if not doomed:
            if not quiet:
                click.echo(f"{directory}: nothing to remove")
            return
        if dry or cleanplans:
            for path in doomed:
                click.echo(str(path))
        if dry:
            return
        _confirm(yes, f"Remove {len(doomed)} local files or directories from {directory}?")
        await asyncio.to_thread(ColonyFS.clean, doomed)
        if not quiet:
            click.echo(f"removed {len(doomed)} local files or directories")

    _run(env, work)


# --- files ------------------------------------------------------------------------------------
@fs.command("ls", epilog=FS)
@label_option
@output_options
@pass_env
@errors
def fs_ls(env: Env, label: str | None, output: str, no_headers: bool) -> None:
    """Files of a label (the latest revision of each; the label defaults to ./.cfs's)."""
    chosen = _label_for(label, Path.cwd())

    async def work(colonyfs: ColonyFS) -> list[tuple[File, int]]:
        names = [d.name for d in await colonyfs.list_files(chosen)]

        async def one(name: str) -> tuple[File, int]:
            revisions = await colonyfs.revisions(chosen, name)
            return revisions[0], len(revisions)

        return list(await asyncio.gather(*(one(n) for n in names)))

    found = _run(env, work)
    if output == "json":
        emit([f for f, _ in found], FILE_COLUMNS, output)
        return
    columns: list[Column] = [
        ("NAME", lambda row: row[0].name),
        ("SIZE", lambda row: _size(row[0].size)),
        ("LATEST FILEID", lambda row: row[0].fileid),
        ("ADDED", lambda row: when(row[0].added)),
        ("REVISIONS", lambda row: row[1]),
    ]
    emit(found, columns, output, no_headers)


@fs.command("info", epilog=FS)
@click.option("-i", "--fileid", help="One revision by its ID.")
@label_option
@click.option("-n", "--name", help="File name (every revision, newest first).")
@output_options
@pass_env
@errors
def fs_info(
    env: Env,
    fileid: str | None,
    label: str | None,
    name: str | None,
    output: str,
    no_headers: bool,
) -> None:
    """A file's metadata: one revision by -i, or every revision of -l/-n."""
    ref = _one_file_ref(fileid, label, name)

    async def work(colonyfs: ColonyFS) -> list[File]:
        if "fileid" in ref:
            return [await colonyfs.file(fileid=ref["fileid"])]
        return await colonyfs.revisions(ref["label"], ref["name"])

    emit(_run(env, work), FILE_COLUMNS, output, no_headers)


@fs.command("get", epilog=FS)
@click.option("-i", "--fileid", help="A revision by its ID.")
@label_option
@click.option("-n", "--name", help="File name (the latest revision).")
@click.option(
    "-d", "--dir", "directory", type=click.Path(path_type=Path), required=True,
    help="Directory to download into.",
)  # fmt: skip
@pass_env
@errors
def fs_get(
    env: Env, fileid: str | None, label: str | None, name: str | None, directory: Path
) -> None:
    """Download a file: the latest revision of -l/-n, or revision -i; its checksum is
    verified before it replaces anything."""
    ref = _one_file_ref(fileid, label, name)

    async def work(colonyfs: ColonyFS) -> Path:
        file = await colonyfs.file(**ref)
        with _progress(file.size, f"downloading {file.name}") as progress:
            return await colonyfs.download(file, directory, progress)

    click.echo(str(_run(env, work)))


@fs.command("remove", epilog=FS)
@click.option("-i", "--fileid", help="One revision by its ID.")
@label_option
@click.option("-n", "--name", help="File name (every revision).")
@pass_env
@errors
def fs_remove(env: Env, fileid: str | None, label: str | None, name: str | None) -> None:
    """Remove a file from ColonyFS and S3 (local files stay): revision -i, or every
    revision of -l/-n."""
    ref = _one_file_ref(fileid, label, name)
    count = _run(env, lambda colonyfs: colonyfs.remove(**ref))
    click.echo(f"removed {count} revision{'s' if count != 1 else ''} (local files are kept)")


# --- labels -----------------------------------------------------------------------------------
@fs.group("label")
def label_group() -> None:
    """Labels: the directories of ColonyFS."""


@label_group.command("ls", epilog=FS)
@output_options
@pass_env
@errors
def label_ls(env: Env, output: str, no_headers: bool) -> None:
    """Every label of the colony, with its number of files."""
    emit(_run(env, lambda colonyfs: colonyfs.labels()), LABEL_COLUMNS, output, no_headers)


@label_group.command("remove", epilog=FS)
@click.option("-l", "--label", required=True, help="Label; the labels below it go too.")
@yes_option
@pass_env
@errors
def label_remove(env: Env, label: str, yes: bool) -> None:
    """Remove every file (all revisions) of a label and the labels below it, from ColonyFS
    and S3. Local files are not touched."""
    chosen = normalize_label(label)
    _confirm(yes, f"Remove every file under {chosen} from ColonyFS?")
    count = _run(env, lambda colonyfs: colonyfs.remove_label(chosen))
    click.echo(f"removed {count} revisions under {chosen}")


# --- snapshots --------------------------------------------------------------------------------
@fs.group("snapshot")
def snapshot() -> None:
    """Snapshots: a label's files frozen under a name."""


def _emit_snapshot(found: Snapshot, files: list[File], output: str) -> None:
    if output == "json":
        emit(found, SNAPSHOT_COLUMNS, output)
        return
    emit(found, SNAPSHOT_COLUMNS, output)
    if files:
        click.echo()
        emit(files, FILE_COLUMNS[:5], output)


@snapshot.command("create", epilog=FS)
@click.option("-l", "--label", required=True, help="Label; the labels below it are included.")
@click.option("-n", "--snapshotname", "name", required=True, help="A name unique in the colony.")
@output_option
@pass_env
@errors
def snapshot_create(env: Env, label: str, name: str, output: str) -> None:
    """Freeze the latest revision of every file under a label."""

    async def work(colonyfs: ColonyFS) -> tuple[Snapshot, list[File]]:
        created = await colonyfs.create_snapshot(label, name)
        return created, await colonyfs.snapshot_files(created)

    _emit_snapshot(*_run(env, work), output)


@snapshot.command("download", epilog=FS)
@click.option("-i", "--snapshotid", help="Snapshot ID.")
@click.option("-n", "--snapshotname", "name", help="Snapshot name.")
@click.option(
    "-d", "--dir", "directory", type=click.Path(path_type=Path), required=True,
    help="Directory to download into (subdirectories follow the labels).",
)  # fmt: skip
@pass_env
@errors
def snapshot_download(env: Env, snapshotid: str | None, name: str | None, directory: Path) -> None:
    """Download a snapshot's files; files already there with the same checksum are skipped."""
    ref = _one_snapshot_ref(snapshotid, name)

    async def work(colonyfs: ColonyFS) -> tuple[int, int]:
        found = await colonyfs.snapshot(**ref)
        files = await colonyfs.snapshot_files(found)
        with _progress(sum(f.size for f in files), f"downloading {found.name}") as progress:
            result = await colonyfs.download_snapshot(
                directory, snapshotid=found.snapshotid, progress=progress
            )
        return len(result.downloaded), len(result.skipped)

    downloaded, skipped = _run(env, work)
    click.echo(f"downloaded {downloaded} files to {directory} ({skipped} already there)")


@snapshot.command("ls", epilog=FS)
@output_options
@pass_env
@errors
def snapshot_ls(env: Env, output: str, no_headers: bool) -> None:
    """Every snapshot of the colony."""
    emit(_run(env, lambda colonyfs: colonyfs.snapshots()), SNAPSHOT_COLUMNS, output, no_headers)


@snapshot.command("info", epilog=FS)
@click.option("-i", "--snapshotid", help="Snapshot ID.")
@click.option("-n", "--snapshotname", "name", help="Snapshot name.")
@output_option
@pass_env
@errors
def snapshot_info(env: Env, snapshotid: str | None, name: str | None, output: str) -> None:
    """A snapshot and its files."""
    ref = _one_snapshot_ref(snapshotid, name)

    async def work(colonyfs: ColonyFS) -> tuple[Snapshot, list[File]]:
        found = await colonyfs.snapshot(**ref)
        return found, await colonyfs.snapshot_files(found)

    _emit_snapshot(*_run(env, work), output)


@snapshot.command("remove", epilog=FS)
@click.option("-i", "--snapshotid", help="Snapshot ID.")
@click.option("-n", "--snapshotname", "name", help="Snapshot name.")
@pass_env
@errors
def snapshot_remove(env: Env, snapshotid: str | None, name: str | None) -> None:
    """Remove a snapshot (its files stay in ColonyFS)."""
    ref = _one_snapshot_ref(snapshotid, name)
    _run(env, lambda colonyfs: colonyfs.remove_snapshot(**ref))
    click.echo(f"snapshot {snapshotid or name} removed")


@snapshot.command("removeall", epilog=FS)
@yes_option
@pass_env
@errors
def snapshot_removeall(env: Env, yes: bool) -> None:
    """Remove every snapshot of the colony (the files stay)."""
    colony = env.colony()
    _confirm(yes, f"Remove every snapshot of colony {colony}? This cannot be undone.")
    _run(env, lambda colonyfs: colonyfs.remove_all_snapshots())
    click.echo(f"removed every snapshot of colony {colony}")
