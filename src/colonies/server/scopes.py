"""Scopes: how the dispatcher finds a request's colony (and target object) before authorizing.

For operations on an existing object the colony is the object's, never a name from the
request (docs/protocol.md §4.1). A scope that loads nothing it can act on answers 404 before
the role is checked; the handler then finds its object in ``ctx.target``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from colonies.rpc import RpcError
from colonies.server.context import Context
from colonies.server.registry import Scope, Target

# --- a colony named by the request ----------------------------------------------------------------


def colony(get: Callable[[Any], str]) -> Scope:
    """The colony named by a field of the message."""

    async def scope(ctx: Context, msg: Any) -> Target:
        return Target(get(msg))

    return scope


by_colonyname = colony(lambda m: m.colonyname)
by_namespace = colony(lambda m: m.namespace)  # blueprints call a colony a namespace


def blueprint_colony(field: str) -> Scope:
    """The colony in the metadata of the blueprint (or definition) in ``msg.<field>``."""
    return colony(lambda m: getattr(m, field).metadata.colonyname if getattr(m, field) else "")


async def submitted_spec_colony(ctx: Context, msg: Any) -> Target:
    """The colony of a submitted function spec's conditions."""
    if msg.spec is None:
        raise RpcError(400, "Failed to submit function spec, spec is null")
    return Target(msg.spec.conditions.colonyname)


async def workflow_colony(ctx: Context, msg: Any) -> Target:
    """The colony of a submitted workflow spec."""
    if msg.spec is None:
        raise RpcError(400, "Failed to submit workflow, spec is null")
    return Target(msg.spec.colonyname)


# --- executors, users, functions ------------------------------------------------------------------


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


# --- processes and what hangs off them ------------------------------------------------------------


def process_of(get: Callable[[Any], str]) -> Scope:
    """The process a message names; its assigned executor owns it."""

    async def scope(ctx: Context, msg: Any) -> Target:
        processid = get(msg)
        brief = await ctx.store.processes.brief(processid)
        if brief is None:
            raise RpcError(404, f"Process with id {processid} not found")
        return Target(brief.colonyname, brief, brief.assignedexecutorid)

    return scope


process_scope = process_of(lambda m: m.processid)


async def closing_scope(ctx: Context, msg: Any) -> Target:
    """A close of a process this replica assigned needs no read (server/assigned.py)."""
    brief = ctx.state.assigned.take(msg.processid, ctx.caller)
    if brief is None:
        return await process_scope(ctx, msg)
    return Target(brief.colonyname, brief, brief.assignedexecutorid)


def channel_scope(verb: str) -> Scope:
    """The process's colony; its initiator and assigned executor are the parties."""

    async def scope(ctx: Context, msg: Any) -> Target:
        brief = await ctx.store.processes.brief(msg.processid)
        if brief is None:
            raise RpcError(404, "Process not found")
        return Target(
            brief.colonyname,
            brief,
            parties=(brief.initiatorid, brief.assignedexecutorid),
            denied=f"Not authorized to {verb} channel",
        )

    return scope


async def attribute_scope(ctx: Context, msg: Any) -> Target:
    attribute = await ctx.store.attributes.get(msg.attributeid)
    if attribute is None:
        raise RpcError(404, f"Attribute with id {msg.attributeid} not found")
    return Target(attribute.targetcolonyname, attribute)


async def graph_scope(ctx: Context, msg: Any) -> Target:
    brief = await ctx.store.processgraphs.brief(msg.processgraphid)
    if brief is None:
        raise RpcError(404, f"Process graph with id {msg.processgraphid} not found")
    colonyname, state = brief
    return Target(colonyname, state)


# --- schedules and blueprints ---------------------------------------------------------------------


async def generator_scope(ctx: Context, msg: Any) -> Target:
    generator = await ctx.store.schedules.get_generator(msg.generatorid)
    if generator is None:
        raise RpcError(404, f"Generator with id {msg.generatorid} not found")
    return Target(generator.colonyname, generator)


async def cron_scope(ctx: Context, msg: Any) -> Target:
    cron = await ctx.store.schedules.get_cron(msg.cronid)
    if cron is None:
        raise RpcError(404, f"Cron with id {msg.cronid} not found")
    return Target(cron.colonyname, cron)


async def blueprint_history_scope(ctx: Context, msg: Any) -> Target:
    """The colony of a blueprint's history: it outlives the blueprint (the "delete" row)."""
    colonyname = await ctx.store.blueprints.history_colony(msg.blueprintid)
    if colonyname is None:
        raise RpcError(404, "Blueprint not found")
    return Target(colonyname)
