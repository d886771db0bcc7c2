"""ID rotation (docs/protocol.md §6.14): the reply echoes the request payload."""

from __future__ import annotations

import msgspec

from colonies.rpc.messages import (
    ChangeColonyIdMsg,
    ChangeExecutorIdMsg,
    ChangeServerIdMsg,
    ChangeUserIdMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import require_id
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, caller_as

routes = Registry()


def echo(msg: object) -> dict[str, object]:
    """The request payload as upstream echoes it: its own fields, not our freshness fields."""
    payload: dict[str, object] = msgspec.to_builtins(msg)
    payload.pop("nonce", None)
    payload.pop("timestamp", None)
    return payload


@routes.handles(
    "changeuseridmsg",
    ChangeUserIdMsg,
    Role.SELF,
    action="Failed to change user id",
    scope=caller_as("user"),
    changes_access=True,
)
async def change_user_id(ctx: Context, msg: ChangeUserIdMsg) -> dict[str, object]:
    new_id = require_id(msg.userid, "Failed to change user id", "user id")
    await ctx.store.users.change_id(msg.colonyname, ctx.caller, new_id)
    return echo(msg)


@routes.handles(
    "changeexecutoridmsg",
    ChangeExecutorIdMsg,
    Role.SELF,
    action="Failed to change executor id",
    scope=caller_as("executor"),
    changes_access=True,
)
async def change_executor_id(ctx: Context, msg: ChangeExecutorIdMsg) -> dict[str, object]:
    new_id = require_id(msg.executorid, "Failed to change executor id", "executor id")
    await ctx.store.executors.change_id(msg.colonyname, ctx.caller, new_id)
    return echo(msg)


@routes.handles(
    "changecolonyidmsg",
    ChangeColonyIdMsg,
    Role.COLONY_OWNER,
    action="Failed to change colony id",
    scope=by_colonyname,
    changes_access=True,
)
async def change_colony_id(ctx: Context, msg: ChangeColonyIdMsg) -> dict[str, object]:
    new_id = require_id(msg.colonyid, "Failed to change colony id", "colony id")
    await ctx.store.colonies.change_id(msg.colonyname, new_id)
    return echo(msg)


@routes.handles(
    "changeserveridmsg",
    ChangeServerIdMsg,
    Role.SERVER_OWNER,
    action="Failed to change server id",
)
async def change_server_id(ctx: Context, msg: ChangeServerIdMsg) -> dict[str, object]:
    new_id = require_id(msg.serverid, "Failed to change server id", "server id")
    await ctx.store.server.change_server_id(new_id)
    return echo(msg)
