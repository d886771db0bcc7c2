"""ColonyFS metadata: files and snapshots (docs/protocol.md §6.12, §6.13, §7.13)."""

from __future__ import annotations

from colonies.core import File, FileData, Label, Snapshot
from colonies.crypto import new_random_id
from colonies.rpc import RpcError
from colonies.rpc.messages import (
    AddFileMsg,
    ColonyNameMsg,
    CreateSnapshotMsg,
    GetFileLabelsMsg,
    GetFileMsg,
    GetFilesMsg,
    RemoveFileMsg,
    SnapshotRefMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import found, removed, require_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, colony

routes = Registry()


def _shown_to(caller: str, file: File, creator: str) -> File:
    """The S3 secret key goes to the file's creator only (§8.1 item 13)."""
    if caller != creator:
        file.ref.s3object.secretkey = ""
    return file


@routes.handles(
    "addfilemsg",
    AddFileMsg,
    Role.MEMBER,
    action="Failed to add file",
    scope=colony(lambda m: m.file.colonyname),
)
async def add_file(ctx: Context, msg: AddFileMsg) -> File:
    file = msg.file
    require_name(file.name, "Failed to add file", "file name")
    file.fileid = new_random_id()
    file.added = ctx.now()
    return await ctx.store.files.add(file, creatorid=ctx.caller)


@routes.handles(
    "getfilemsg", GetFileMsg, Role.MEMBER, action="Failed to get file", scope=by_colonyname
)
async def get_file(ctx: Context, msg: GetFileMsg) -> list[File]:
    if msg.fileid:
        rows = await ctx.store.files.get_by_id(msg.colonyname, msg.fileid)
    elif msg.label and msg.name:
        rows = await ctx.store.files.get_by_name(msg.colonyname, msg.label, msg.name, msg.latest)
    else:
        raise RpcError(400, "Failed to get file, fileid or label and name must be given")
    if not rows:
        raise RpcError(404, "File not found")
    return [_shown_to(ctx.caller, f, creator) for f, creator in rows]


@routes.handles(
    "getfilesmsg", GetFilesMsg, Role.MEMBER, action="Failed to get files", scope=by_colonyname
)
async def get_files(ctx: Context, msg: GetFilesMsg) -> list[FileData]:
    return await ctx.store.files.list_names(msg.colonyname, msg.label)


@routes.handles(
    "getfilelabelsmsg",
    GetFileLabelsMsg,
    Role.MEMBER,
    action="Failed to get file labels",
    scope=by_colonyname,
)
async def get_file_labels(ctx: Context, msg: GetFileLabelsMsg) -> list[Label]:
    return await ctx.store.files.labels(msg.colonyname, msg.name, msg.exact)


@routes.handles(
    "removefilemsg", RemoveFileMsg, Role.MEMBER, action="Failed to remove file", scope=by_colonyname
)
async def remove_file(ctx: Context, msg: RemoveFileMsg) -> None:
    if msg.fileid:
        ok = await ctx.store.files.remove_by_id(msg.colonyname, msg.fileid)
    elif msg.label and msg.name:
        ok = await ctx.store.files.remove_by_name(msg.colonyname, msg.label, msg.name)
    else:
        raise RpcError(400, "Failed to remove file, fileid or label and name must be given")
    removed(ok, "File")


@routes.handles(
    "createsnapshotmsg",
    CreateSnapshotMsg,
    Role.MEMBER,
    action="Failed to create snapshot",
    scope=by_colonyname,
)
async def create_snapshot(ctx: Context, msg: CreateSnapshotMsg) -> Snapshot:
    require_name(msg.name, "Failed to create snapshot", "snapshot name")
    return await ctx.store.files.create_snapshot(
        new_random_id(), msg.colonyname, msg.label, msg.name, ctx.now()
    )


@routes.handles(
    "getsnapshotmsg",
    SnapshotRefMsg,
    Role.MEMBER,
    action="Failed to get snapshot",
    scope=by_colonyname,
)
async def get_snapshot(ctx: Context, msg: SnapshotRefMsg) -> Snapshot:
    snapshot = await ctx.store.files.get_snapshot(msg.colonyname, msg.snapshotid, msg.name)
    return found(snapshot, "Snapshot")


@routes.handles(
    "getsnapshotsmsg",
    ColonyNameMsg,
    Role.MEMBER,
    action="Failed to get snapshots",
    scope=by_colonyname,
)
async def get_snapshots(ctx: Context, msg: ColonyNameMsg) -> list[Snapshot]:
    return await ctx.store.files.list_snapshots(msg.colonyname)


@routes.handles(
    "removesnapshotmsg",
    SnapshotRefMsg,
    Role.MEMBER,
    action="Failed to remove snapshot",
    scope=by_colonyname,
)
async def remove_snapshot(ctx: Context, msg: SnapshotRefMsg) -> None:
    ok = await ctx.store.files.remove_snapshot(msg.colonyname, msg.snapshotid, msg.name)
    removed(ok, "Snapshot")


@routes.handles(
    "removeallsnapshotmsg",
    ColonyNameMsg,
    Role.MEMBER,
    action="Failed to remove snapshots",
    scope=by_colonyname,
)
async def remove_all_snapshots(ctx: Context, msg: ColonyNameMsg) -> None:
    await ctx.store.files.remove_all_snapshots(msg.colonyname)
