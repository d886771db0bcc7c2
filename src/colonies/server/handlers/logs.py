"""Attributes and logs (docs/protocol.md §6.8, §6.9)."""

from __future__ import annotations

import time
from datetime import timedelta

from colonies.core import Attribute, AttributeType, Log, ProcessState
from colonies.core.scheduling import MAX_LOG_COUNT, MAX_LOG_SEARCH_DAYS
from colonies.core.submission import attribute_id
from colonies.core.timeutil import to_unix_ns
from colonies.rpc import RpcError
from colonies.rpc.messages import (
    AddAttributeMsg,
    AddExecutorLogMsg,
    AddLogMsg,
    GetAttributeMsg,
    GetLogsMsg,
    SearchLogsMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import check_count, found
from colonies.server.registry import Registry, Role
from colonies.server.scopes import (
    attribute_scope,
    by_colonyname,
    named_executor,
    process_of,
    process_scope,
)

routes = Registry()

_ATTRIBUTE_TYPES = frozenset(AttributeType)


def _require_running(ctx: Context, action: str) -> None:
    if ctx.target.state != ProcessState.RUNNING:
        raise RpcError(403, f"{action}, process is not running")


@routes.handles(
    "addattributemsg",
    AddAttributeMsg,
    Role.ASSIGNED_EXECUTOR,
    action="Failed to add attribute",
    scope=process_of(lambda m: m.attribute.targetid),
)
async def add_attribute(ctx: Context, msg: AddAttributeMsg) -> Attribute:
    _require_running(ctx, "Failed to add attribute")
    brief = ctx.target
    a = msg.attribute
    if a.attributetype not in _ATTRIBUTE_TYPES:
        raise RpcError(400, "Failed to add attribute, invalid attribute type")
    a.attributeid = attribute_id(a.targetid, a.key, a.attributetype)
    a.targetcolonyname = brief.colonyname
    a.targetprocessgraphid = brief.processgraphid
    a.state = brief.state
    await ctx.store.attributes.add(a)
    return a


@routes.handles(
    "getattributemsg",
    GetAttributeMsg,
    Role.MEMBER,
    action="Failed to get attribute",
    scope=attribute_scope,
)
async def get_attribute(ctx: Context, msg: GetAttributeMsg) -> Attribute:
    attribute: Attribute | None = ctx.target
    return found(attribute, "Attribute")


def _now_ns() -> int:
    return time.time_ns()


@routes.handles(
    "addlogmsg", AddLogMsg, Role.ASSIGNED_EXECUTOR, action="Failed to add log", scope=process_scope
)
async def add_log(ctx: Context, msg: AddLogMsg) -> None:
    _require_running(ctx, "Failed to add log")
    access = ctx.access
    assert access is not None
    await ctx.store.logs.add(
        ctx.target.colonyname, msg.processid, access.executor_name or "", msg.message, _now_ns()
    )


@routes.handles(
    "addexecutorlogmsg",
    AddExecutorLogMsg,
    Role.SELF,
    action="Failed to add executor log",
    scope=named_executor(lambda m: (m.colonyname, m.executorname)),
)
async def add_executor_log(ctx: Context, msg: AddExecutorLogMsg) -> None:
    await ctx.store.logs.add(msg.colonyname, "", msg.executorname, msg.message, _now_ns())


@routes.handles(
    "getlogsmsg", GetLogsMsg, Role.MEMBER, action="Failed to get logs", scope=by_colonyname
)
async def get_logs(ctx: Context, msg: GetLogsMsg) -> list[Log]:
    if not msg.processid and not msg.executorname:
        raise RpcError(400, "Failed to get logs, processid or executorname must be given")
    count = check_count(msg.count, MAX_LOG_COUNT)
    return await ctx.store.logs.get(
        msg.colonyname, msg.processid, msg.executorname, count, msg.since, msg.latest
    )


@routes.handles(
    "searchlogsmsg", SearchLogsMsg, Role.MEMBER, action="Failed to search logs", scope=by_colonyname
)
async def search_logs(ctx: Context, msg: SearchLogsMsg) -> list[Log]:
    if msg.days > MAX_LOG_SEARCH_DAYS or msg.days < 0:
        raise RpcError(400, f"Failed to search logs, days must be in [0, {MAX_LOG_SEARCH_DAYS}]")
    count = check_count(msg.count)
    since = to_unix_ns(ctx.now() - timedelta(days=msg.days))
    return await ctx.store.logs.search(msg.colonyname, msg.text, since, count)
