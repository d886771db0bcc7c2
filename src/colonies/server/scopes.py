"""Scopes: how the dispatcher finds a request's colony (and target object) before authorizing.

For operations on an existing object the colony is the object's, never a name from the
request (docs/protocol.md §4.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from colonies.rpc import RpcError
from colonies.server.context import Context
from colonies.server.registry import Scope, Target


def colony(get: Callable[[Any], str]) -> Scope:
    """The colony named by a field of the message."""

    async def scope(ctx: Context, msg: Any) -> Target:
        return Target(get(msg))

    return scope


by_colonyname = colony(lambda m: m.colonyname)


def named_executor(get: Callable[[Any], tuple[str, str]]) -> Scope:
    """The executor named by (colonyname, executorname); its ID owns it."""

    async def scope(ctx: Context, msg: Any) -> Target:
        colonyname, executorname = get(msg)
        executor = await ctx.store.executors.get(colonyname, executorname)
        if executor is None:
            # Membership is still checked first, so non-members learn nothing.
            return Target(colonyname, None, None)
        return Target(colonyname, executor, executor.executorid)

    return scope


async def function_owner(ctx: Context, msg: Any) -> Target:
    function = await ctx.store.functions.get(msg.functionid)
    if function is None:
        raise RpcError(404, f"Function with id {msg.functionid} not found")
    executor = await ctx.store.executors.get(function.colonyname, function.executorname)
    return Target(function.colonyname, function, executor.executorid if executor else None)


def caller_as(kind: str) -> Scope:
    """The caller itself as an executor or user of ``msg.colonyname`` (ID rotation)."""

    async def scope(ctx: Context, msg: Any) -> Target:
        if kind == "executor":
            obj: Any = await ctx.store.executors.get_by_id(msg.colonyname, ctx.caller)
        else:
            obj = await ctx.store.users.get_by_id(msg.colonyname, ctx.caller)
        return Target(msg.colonyname, obj, ctx.caller if obj is not None else None)

    return scope
