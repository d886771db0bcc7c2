"""Executors (docs/protocol.md §6.2)."""

from __future__ import annotations

from colonies.core import Executor, ExecutorState
from colonies.rpc.messages import (
    AddExecutorMsg,
    ColonyNameMsg,
    ExecutorNameMsg,
    GetExecutorByIdMsg,
    ReportAllocationMsg,
    UpdateExecutorMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import found, removed, require_id, require_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, colony, named_executor

routes = Registry()

ADD = "Failed to add executor"
_named = named_executor(lambda m: (m.colonyname, m.executorname))


@routes.handles(
    "addexecutormsg",
    AddExecutorMsg,
    Role.COLONY_OWNER,
    action=ADD,
    scope=colony(lambda m: m.executor.colonyname),
    changes_access=True,
)
async def add_executor(ctx: Context, msg: AddExecutorMsg) -> Executor:
    executor = msg.executor
    executor.executorid = require_id(executor.executorid, ADD, "executor id")
    require_name(executor.executorname, ADD, "executor name")
    require_name(executor.executortype, ADD, "executor type")
    executor.state = ExecutorState.PENDING
    executor.commissiontime = ctx.now()
    return await ctx.store.executors.add(
        executor, replace_existing=ctx.config.allow_executor_reregister
    )


async def _set_state(ctx: Context, msg: ExecutorNameMsg, state: ExecutorState) -> None:
    ok = await ctx.store.executors.set_state(msg.colonyname, msg.executorname, state)
    removed(ok, f"Executor with name {msg.executorname}")


@routes.handles(
    "approveexecutormsg",
    ExecutorNameMsg,
    Role.COLONY_OWNER,
    action="Failed to approve executor",
    scope=by_colonyname,
    changes_access=True,
)
async def approve_executor(ctx: Context, msg: ExecutorNameMsg) -> None:
    await _set_state(ctx, msg, ExecutorState.APPROVED)


@routes.handles(
    "rejectexecutormsg",
    ExecutorNameMsg,
    Role.COLONY_OWNER,
    action="Failed to reject executor",
    scope=by_colonyname,
    changes_access=True,
)
async def reject_executor(ctx: Context, msg: ExecutorNameMsg) -> None:
    await _set_state(ctx, msg, ExecutorState.REJECTED)


@routes.handles(
    "removeexecutormsg",
    ExecutorNameMsg,
    Role.COLONY_OWNER,
    action="Failed to remove executor",
    scope=by_colonyname,
    changes_access=True,
)
async def remove_executor(ctx: Context, msg: ExecutorNameMsg) -> None:
    ok = await ctx.store.executors.remove(msg.colonyname, msg.executorname)
    removed(ok, f"Executor with name {msg.executorname}")


@routes.handles(
    "getexecutorsmsg",
    ColonyNameMsg,
    Role.MEMBER_ANY,
    action="Failed to get executors",
    scope=by_colonyname,
)
async def get_executors(ctx: Context, msg: ColonyNameMsg) -> list[Executor]:
    return await ctx.store.executors.list(msg.colonyname)


@routes.handles(
    "getexecutormsg",
    ExecutorNameMsg,
    Role.MEMBER,
    action="Failed to get executor",
    scope=by_colonyname,
)
async def get_executor(ctx: Context, msg: ExecutorNameMsg) -> Executor:
    executor = await ctx.store.executors.get(msg.colonyname, msg.executorname)
    return found(executor, f"Executor with name {msg.executorname}")


@routes.handles(
    "getexecutorbyidmsg",
    GetExecutorByIdMsg,
    Role.MEMBER,
    action="Failed to get executor",
    scope=by_colonyname,
)
async def get_executor_by_id(ctx: Context, msg: GetExecutorByIdMsg) -> Executor:
    executor = await ctx.store.executors.get_by_id(msg.colonyname, msg.executorid)
    return found(executor, f"Executor with id {msg.executorid}")


@routes.handles(
    "reportallocationmsg",
    ReportAllocationMsg,
    Role.SELF,
    action="Failed to report allocation",
    scope=_named,
)
async def report_allocation(ctx: Context, msg: ReportAllocationMsg) -> None:
    await ctx.store.executors.set_allocations(msg.colonyname, msg.executorname, msg.allocations)


@routes.handles(
    "updateexecutormsg",
    UpdateExecutorMsg,
    Role.SELF,
    action="Failed to update executor",
    scope=_named,
)
async def update_executor(ctx: Context, msg: UpdateExecutorMsg) -> None:
    await ctx.store.executors.set_capabilities(msg.colonyname, msg.executorname, msg.capabilities)
