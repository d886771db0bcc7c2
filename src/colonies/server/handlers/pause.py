"""Pause and resume assignments per colony (docs/protocol.md §6.6, §7.16)."""

from __future__ import annotations

from colonies.rpc.messages import ColonyNameMsg, PauseStatusReply
from colonies.server.context import Context
from colonies.server.handlers._common import removed
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname

routes = Registry()


@routes.handles(
    "pauseassignmentsmsg",
    ColonyNameMsg,
    Role.COLONY_OWNER,
    action="Failed to pause assignments",
    scope=by_colonyname,
    changes_access=True,
)
async def pause(ctx: Context, msg: ColonyNameMsg) -> None:
    removed(await ctx.store.colonies.set_paused(msg.colonyname, True), "Colony")


@routes.handles(
    "resumeassignmentsmsg",
    ColonyNameMsg,
    Role.COLONY_OWNER,
    action="Failed to resume assignments",
    scope=by_colonyname,
    changes_access=True,
)
async def resume(ctx: Context, msg: ColonyNameMsg) -> None:
    removed(await ctx.store.colonies.set_paused(msg.colonyname, False), "Colony")


@routes.handles(
    "getpausestatusmsg",
    ColonyNameMsg,
    Role.MEMBER_ANY,
    action="Failed to get pause status",
    scope=by_colonyname,
    reply_payloadtype="pausestatusreplymsg",
)
async def pause_status(ctx: Context, msg: ColonyNameMsg) -> PauseStatusReply:
    paused = await ctx.store.colonies.is_paused(msg.colonyname)
    return PauseStatusReply(colonyname=msg.colonyname, ispaused=paused)
