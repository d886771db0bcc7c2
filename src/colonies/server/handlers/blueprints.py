"""Blueprints: definitions, instances, status, reconciliation (docs/protocol.md §6.16, §7.14).

Adding or updating a blueprint submits a reconcile process to the definition's handler and
keeps one periodic reconcile cron per kind and location; removing the last blueprint of a kind
at a location drops that cron and submits a ``cleanup`` process.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from colonies.core import (
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    Conditions,
    Cron,
    FunctionSpec,
    Process,
    WorkflowSpec,
)
from colonies.core.limits import CRON_HORIZON_SECONDS
from colonies.core.schema import SchemaError, validate
from colonies.core.submission import new_process
from colonies.crypto import new_random_id
from colonies.rpc import RpcError
from colonies.rpc.messages import (
    AddBlueprintDefinitionMsg,
    AddBlueprintMsg,
    ColonyNameMsg,
    GetBlueprintHistoryMsg,
    GetBlueprintsMsg,
    NamedInColonyMsg,
    NamespaceNameMsg,
    ReconcileBlueprintMsg,
    UpdateBlueprintMsg,
    UpdateBlueprintStatusMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import found, removed, require_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import (
    blueprint_colony,
    blueprint_history_scope,
    by_colonyname,
    by_namespace,
)

routes = Registry()

RECONCILE_INTERVAL = 60  # seconds, unless the definition's handler says otherwise


def _required(obj: Any, what: str, action: str) -> Any:
    if obj is None:
        raise RpcError(400, f"{action}, {what} is nil")
    return obj


def _initiator(ctx: Context) -> str:
    access = ctx.access
    if access is None:
        return ""
    return access.executor_name or access.user_name or ""


def _history(ctx: Context, b: Blueprint, change: str) -> BlueprintHistory:
    return BlueprintHistory(
        historyid=new_random_id(),
        blueprintid=b.blueprintid,
        kind=b.kind,
        namespace=b.metadata.colonyname,
        name=b.metadata.name,
        generation=b.metadata.generation,
        spec=b.spec,
        status=b.status,
        timestamp=ctx.now(),
        changedby=ctx.caller,
        changetype=change,
    )


async def _definition_of(ctx: Context, b: Blueprint, action: str) -> BlueprintDefinition:
    if not b.kind:
        raise RpcError(400, f"{action}, blueprint kind is required")
    definition = await ctx.store.blueprints.definition_for_kind(b.metadata.colonyname, b.kind)
    if definition is None:
        raise RpcError(
            400,
            f"{action}, BlueprintDefinition for kind '{b.kind}' not found in namespace "
            f"'{b.metadata.colonyname}'",
        )
    if definition.spec.schema:
        try:
            validate(b.spec, definition.spec.schema)
        except SchemaError as exc:
            raise RpcError(400, f"{action}, blueprint validation failed: {exc}") from None
    return definition


def _reconcile_spec(
    definition: BlueprintDefinition, colonyname: str, location: str, kwargs: dict[str, Any]
) -> FunctionSpec:
    handler = definition.spec.handler
    return FunctionSpec(
        nodename="reconcile",
        funcname=handler.functionName or "reconcile",
        kwargs=kwargs,
        maxexectime=-1,
        maxwaittime=-1,
        maxretries=-1,
        conditions=Conditions(
            colonyname=colonyname, executortype=handler.executorType, locationname=location
        ),
    )


async def _submit(ctx: Context, spec: FunctionSpec) -> Process:
    new = new_process(
        spec,
        processid=new_random_id(),
        initiatorid=ctx.caller,
        initiatorname=_initiator(ctx),
        now=ctx.now(),
    )
    return await ctx.store.submissions.submit(new)


def _reconcile_interval(seconds: int) -> int:
    """The definition's interval; the default for none, or for one stored before its limit
    (core/limits.py) that a cron could not keep."""
    return seconds if 0 < seconds <= CRON_HORIZON_SECONDS else RECONCILE_INTERVAL


def _cron_name(kind: str, location: str) -> str:
    return f"reconcile-{kind}-{location}" if location else f"reconcile-{kind}"


async def _reconcile(
    ctx: Context, b: Blueprint, definition: BlueprintDefinition, **extra: Any
) -> Process | None:
    """Keep the kind's periodic cron, then submit a reconcile process for this blueprint."""
    handler = definition.spec.handler
    if not handler.executorType:
        return None
    colonyname, location = b.metadata.colonyname, b.metadata.locationname
    workflow = WorkflowSpec(
        colonyname=colonyname,
        functionspecs=[_reconcile_spec(definition, colonyname, location, {"kind": b.kind})],
    )
    await ctx.store.schedules.ensure_cron(
        Cron(
            cronid=new_random_id(),
            colonyname=colonyname,
            initiatorid=ctx.caller,
            initiatorname=_initiator(ctx),
            name=_cron_name(b.kind, location),
            interval=_reconcile_interval(handler.reconcileInterval),
            waitforprevprocessgraph=True,
            workflowspec=json.dumps(msgspec.to_builtins(workflow)),
        )
    )
    kwargs = {"kind": b.kind, "blueprintName": b.metadata.name, **extra}
    process = await _submit(ctx, _reconcile_spec(definition, colonyname, location, kwargs))
    await ctx.store.blueprints.note_reconciliation(b.blueprintid, process.processid, ctx.now())
    ctx.state.metrics.reconciliations.labels("submitted").inc()
    return process


# --- definitions ------------------------------------------------------------------------------
ADD_DEFINITION = "Failed to add blueprint definition"


@routes.handles(
    "addblueprintdefinitionmsg",
    AddBlueprintDefinitionMsg,
    Role.COLONY_OWNER,
    action=ADD_DEFINITION,
    scope=blueprint_colony("blueprintdefinition"),
)
async def add_definition(ctx: Context, msg: AddBlueprintDefinitionMsg) -> BlueprintDefinition:
    d: BlueprintDefinition = _required(
        msg.blueprintdefinition, "blueprint definition", ADD_DEFINITION
    )
    require_name(d.metadata.name, ADD_DEFINITION, "metadata.name")
    require_name(d.spec.names.kind, ADD_DEFINITION, "spec.names.kind")
    d.blueprintdefinitionid = d.blueprintdefinitionid or new_random_id()
    d.kind = d.kind or "BlueprintDefinition"
    now = ctx.now()
    d.metadata.createdAt = d.metadata.updatedAt = now
    return await ctx.store.blueprints.add_definition(d)


@routes.handles(
    "getblueprintdefinitionmsg",
    NamedInColonyMsg,
    Role.MEMBER_OR_OWNER,
    action="Failed to get blueprint definition",
    scope=by_colonyname,
)
async def get_definition(ctx: Context, msg: NamedInColonyMsg) -> BlueprintDefinition:
    d = await ctx.store.blueprints.definition(msg.colonyname, msg.name)
    return found(d, "Blueprint definition")


@routes.handles(
    "getblueprintdefinitionsmsg",
    ColonyNameMsg,
    Role.MEMBER_OR_OWNER,
    action="Failed to get blueprint definitions",
    scope=by_colonyname,
)
async def get_definitions(ctx: Context, msg: ColonyNameMsg) -> list[BlueprintDefinition]:
    return await ctx.store.blueprints.definitions(msg.colonyname)


@routes.handles(
    "removeblueprintdefinitionmsg",
    NamespaceNameMsg,
    Role.COLONY_OWNER,
    action="Failed to remove blueprint definition",
    scope=by_namespace,
)
async def remove_definition(ctx: Context, msg: NamespaceNameMsg) -> None:
    store = ctx.store.blueprints
    d = found(await store.definition(msg.namespace, msg.name), "Blueprint definition")
    in_use = await store.count_of_kind(msg.namespace, d.spec.names.kind)
    if in_use:
        raise RpcError(
            400,
            f"cannot remove BlueprintDefinition '{msg.name}': {in_use} blueprint(s) of kind "
            f"'{d.spec.names.kind}' still exist",
        )
    removed(await store.remove_definition(msg.namespace, msg.name), "Blueprint definition")


# --- blueprints -------------------------------------------------------------------------------
ADD = "Failed to add blueprint"
UPDATE = "Failed to update blueprint"


@routes.handles(
    "addblueprintmsg",
    AddBlueprintMsg,
    Role.MEMBER_OR_OWNER,
    action=ADD,
    scope=blueprint_colony("blueprint"),
)
async def add_blueprint(ctx: Context, msg: AddBlueprintMsg) -> Blueprint:
    b: Blueprint = _required(msg.blueprint, "blueprint", ADD)
    require_name(b.metadata.name, ADD, "metadata.name")
    definition = await _definition_of(ctx, b, ADD)
    b.blueprintid = b.blueprintid or new_random_id()
    now = ctx.now()
    b.metadata.createdAt = b.metadata.updatedAt = now
    b.metadata.generation = max(b.metadata.generation, 1)
    await ctx.store.blueprints.add(b, _history(ctx, b, "create"))
    await _reconcile(ctx, b, definition)
    return b


@routes.handles(
    "getblueprintmsg",
    NamespaceNameMsg,
    Role.MEMBER_OR_OWNER,
    action="Failed to get blueprint",
    scope=by_namespace,
)
async def get_blueprint(ctx: Context, msg: NamespaceNameMsg) -> Blueprint:
    return found(await ctx.store.blueprints.get(msg.namespace, msg.name), "Blueprint")


@routes.handles(
    "getblueprintsmsg",
    GetBlueprintsMsg,
    Role.MEMBER_OR_OWNER,
    action="Failed to get blueprints",
    scope=by_namespace,
)
async def get_blueprints(ctx: Context, msg: GetBlueprintsMsg) -> list[Blueprint]:
    return await ctx.store.blueprints.list(msg.namespace, msg.kind, msg.locationname)


@routes.handles(
    "updateblueprintmsg",
    UpdateBlueprintMsg,
    Role.MEMBER_OR_OWNER,
    action=UPDATE,
    scope=blueprint_colony("blueprint"),
)
async def update_blueprint(ctx: Context, msg: UpdateBlueprintMsg) -> Blueprint:
    b: Blueprint = _required(msg.blueprint, "blueprint", UPDATE)
    old = await ctx.store.blueprints.get(b.metadata.colonyname, b.metadata.name)
    if old is None:
        raise RpcError(
            404, f"blueprint '{b.metadata.name}' not found in namespace '{b.metadata.colonyname}'"
        )
    definition = await _definition_of(ctx, b, UPDATE)
    b.blueprintid = old.blueprintid
    b.metadata.createdAt = old.metadata.createdAt
    b.metadata.updatedAt = ctx.now()
    b.status = old.status
    changed = b.spec != old.spec or msg.forcegeneration
    b.metadata.generation = old.metadata.generation + (1 if changed else 0)
    await ctx.store.blueprints.replace(b, _history(ctx, b, "update") if changed else None)
    if changed:
        await _reconcile(ctx, b, definition)
    return b


@routes.handles(
    "removeblueprintmsg",
    NamespaceNameMsg,
    Role.MEMBER_OR_OWNER,
    action="Failed to remove blueprint",
    scope=by_namespace,
)
async def remove_blueprint(ctx: Context, msg: NamespaceNameMsg) -> None:
    store = ctx.store.blueprints
    b = found(await store.get(msg.namespace, msg.name), "Blueprint")
    removed(await store.remove(b, _history(ctx, b, "delete")), "Blueprint")
    location = b.metadata.locationname
    if not await store.count_of_kind(msg.namespace, b.kind, location):
        await ctx.store.schedules.remove_cron_by_name(msg.namespace, _cron_name(b.kind, location))
    definition = await store.definition_for_kind(msg.namespace, b.kind)
    if definition is not None and definition.spec.handler.executorType:
        spec = _reconcile_spec(
            definition, msg.namespace, location, {"blueprintName": b.metadata.name, "kind": b.kind}
        )
        spec.nodename = spec.funcname = "cleanup"
        await _submit(ctx, spec)


@routes.handles(
    "getblueprinthistorymsg",
    GetBlueprintHistoryMsg,
    Role.MEMBER_OR_OWNER,
    action="Failed to get blueprint history",
    scope=blueprint_history_scope,
)
async def get_history(ctx: Context, msg: GetBlueprintHistoryMsg) -> list[BlueprintHistory]:
    return await ctx.store.blueprints.history(msg.blueprintid, msg.limit)


@routes.handles(
    "updateblueprintstatusmsg",
    UpdateBlueprintStatusMsg,
    Role.MEMBER,
    action="Failed to update blueprint status",
    scope=by_colonyname,
)
async def update_status(ctx: Context, msg: UpdateBlueprintStatusMsg) -> None:
    ok = await ctx.store.blueprints.set_status(msg.colonyname, msg.blueprintname, msg.status)
    removed(ok, "Blueprint")


@routes.handles(
    "reconcileblueprintmsg",
    ReconcileBlueprintMsg,
    Role.MEMBER,
    action="Failed to reconcile blueprint",
    scope=by_namespace,
)
async def reconcile(ctx: Context, msg: ReconcileBlueprintMsg) -> Process:
    store = ctx.store.blueprints
    b = found(await store.get(msg.namespace, msg.name), "Blueprint")
    definition = await store.definition_for_kind(msg.namespace, b.kind)
    if definition is None or not definition.spec.handler.executorType:
        raise RpcError(400, "Blueprint has no handler with executor type defined")
    extra: dict[str, Any] = {}
    if msg.force:
        b.metadata.generation += 1
        await store.replace(b, _history(ctx, b, "update"))
        extra["force"] = True
    process = await _reconcile(ctx, b, definition, **extra)
    assert process is not None
    return process
