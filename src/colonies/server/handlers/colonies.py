"""Colonies (docs/protocol.md §6.1)."""

from __future__ import annotations

from colonies.core import Colony, Statistics
from colonies.rpc.messages import AddColonyMsg, ColonyNameMsg, GetColoniesMsg
from colonies.server.context import Context
from colonies.server.handlers._common import found, removed, require_id, require_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname

routes = Registry()

ADD = "Failed to add colony"


@routes.handles("addcolonymsg", AddColonyMsg, Role.SERVER_OWNER, action=ADD, changes_access=True)
async def add_colony(ctx: Context, msg: AddColonyMsg) -> Colony:
    colony = Colony(
        colonyid=require_id(msg.colony.colonyid, ADD, "colony id"),
        name=require_name(msg.colony.name, ADD, "colony name"),
    )
    return await ctx.store.colonies.add(colony)


@routes.handles(
    "removecolonymsg",
    ColonyNameMsg,
    Role.SERVER_OWNER,
    action="Failed to remove colony",
    changes_access=True,
)
async def remove_colony(ctx: Context, msg: ColonyNameMsg) -> None:
    removed(await ctx.store.colonies.remove(msg.colonyname), f"Colony with name {msg.colonyname}")


@routes.handles(
    "getcoloniesmsg", GetColoniesMsg, Role.SERVER_OWNER, action="Failed to get colonies"
)
async def get_colonies(ctx: Context, msg: GetColoniesMsg) -> list[Colony]:
    return await ctx.store.colonies.list()


@routes.handles(
    "getcolonymsg", ColonyNameMsg, Role.MEMBER, action="Failed to get colony", scope=by_colonyname
)
async def get_colony(ctx: Context, msg: ColonyNameMsg) -> Colony:
    return found(await ctx.store.colonies.get(msg.colonyname), f"Colony {msg.colonyname}")


@routes.handles(
    "getcolonystatsmsg",
    ColonyNameMsg,
    Role.MEMBER,
    action="Failed to get colony statistics",
    scope=by_colonyname,
)
async def get_colony_stats(ctx: Context, msg: ColonyNameMsg) -> Statistics:
    return await ctx.store.server.statistics(msg.colonyname)
