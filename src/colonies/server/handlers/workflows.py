"""Workflows (process graphs), docs/protocol.md §6.7 and §7.9."""

from __future__ import annotations

from colonies.core import Process, ProcessGraph, ProcessState
from colonies.core.graphs import GraphError, plan_workflow
from colonies.core.submission import SubmissionError, new_process
from colonies.crypto import new_random_id
from colonies.rpc import RpcError
from colonies.rpc.messages import (
    AddChildMsg,
    ColonyStateMsg,
    GetProcessGraphsMsg,
    ProcessGraphIdMsg,
    SubmitWorkflowSpecMsg,
)
from colonies.server.context import Context
from colonies.server.handlers._common import STATES, check_count, check_remove_all_state, found
from colonies.server.handlers.processes import initiator_name
from colonies.server.registry import Registry, Role
from colonies.server.scopes import by_colonyname, graph_scope, process_of, workflow_colony

routes = Registry()

SUBMIT = "Failed to submit workflow"


@routes.handles(
    "submitworkflowspecmsg",
    SubmitWorkflowSpecMsg,
    Role.MEMBER,
    action=SUBMIT,
    scope=workflow_colony,
)
async def submit_workflow(ctx: Context, msg: SubmitWorkflowSpecMsg) -> ProcessGraph:
    assert msg.spec is not None  # free-form values normalised when decoded (core/wire.py)
    try:
        graph, processes = plan_workflow(
            msg.spec,
            graphid=new_random_id(),
            initiatorid=ctx.caller,
            initiatorname=initiator_name(ctx, SUBMIT),
            now=ctx.now(),
            new_id=new_random_id,
        )
    except (GraphError, SubmissionError) as exc:
        raise RpcError(400, f"{SUBMIT}, {exc}") from None
    result = await ctx.store.processgraphs.submit(graph, processes)
    ctx.state.metrics.processes_submitted.inc(len(processes))
    return result


@routes.handles(
    "getprocessgraphmsg",
    ProcessGraphIdMsg,
    Role.MEMBER,
    action="Failed to get process graph",
    scope=graph_scope,
)
async def get_graph(ctx: Context, msg: ProcessGraphIdMsg) -> ProcessGraph:
    graph = await ctx.store.processgraphs.get(msg.processgraphid)
    return found(graph, f"Process graph with id {msg.processgraphid}")


@routes.handles(
    "getprocessgraphsmsg",
    GetProcessGraphsMsg,
    Role.MEMBER,
    action="Failed to get process graphs",
    scope=by_colonyname,
)
async def get_graphs(ctx: Context, msg: GetProcessGraphsMsg) -> list[ProcessGraph]:
    count = check_count(msg.count)
    if msg.state not in STATES:
        raise RpcError(400, "Failed to get process graphs, invalid state")
    return await ctx.store.processgraphs.list(msg.colonyname, msg.state, count)


@routes.handles(
    "removeprocessgraphmsg",
    ProcessGraphIdMsg,
    Role.MEMBER,
    action="Failed to remove process graph",
    scope=graph_scope,
)
async def remove_graph(ctx: Context, msg: ProcessGraphIdMsg) -> None:
    if ctx.target == ProcessState.RUNNING or not await ctx.store.processgraphs.remove(
        msg.processgraphid
    ):
        raise RpcError(400, "Failed to remove process graph, cannot remove a running graph")


@routes.handles(
    "removeallprocessgraphsmsg",
    ColonyStateMsg,
    Role.COLONY_OWNER,
    action="Failed to remove process graphs",
    scope=by_colonyname,
)
async def remove_all_graphs(ctx: Context, msg: ColonyStateMsg) -> None:
    state = check_remove_all_state(msg.state, "process graphs")
    await ctx.store.processgraphs.remove_all(msg.colonyname, state)


@routes.handles(
    "cancelprocessgraphmsg",
    ProcessGraphIdMsg,
    Role.MEMBER,
    action="Failed to cancel process graph",
    scope=graph_scope,
)
async def cancel_graph(ctx: Context, msg: ProcessGraphIdMsg) -> None:
    if not await ctx.store.processgraphs.cancel(msg.processgraphid, ctx.now()):
        raise RpcError(400, "Failed to cancel process graph, graph is not waiting or running")


ADD_CHILD = "Failed to add child"


@routes.handles(
    "addchildmsg",
    AddChildMsg,
    Role.ASSIGNED_EXECUTOR,
    action=ADD_CHILD,
    scope=process_of(lambda m: m.parentprocessid),
)
async def add_child(ctx: Context, msg: AddChildMsg) -> Process:
    parent = ctx.target
    if parent.state != ProcessState.RUNNING:
        raise RpcError(400, f"{ADD_CHILD}, the parent process is not running")
    if not msg.processgraphid or parent.processgraphid != msg.processgraphid:
        raise RpcError(400, f"{ADD_CHILD}, the parent is not a member of the process graph")
    if msg.spec is None:
        raise RpcError(400, f"{ADD_CHILD}, spec is null")
    if msg.childprocessid:
        child = await ctx.store.processes.brief(msg.childprocessid)
        if child is None or child.processgraphid != msg.processgraphid:
            raise RpcError(400, f"{ADD_CHILD}, the child is not a member of the process graph")
    spec = msg.spec
    spec.conditions.colonyname = parent.colonyname
    if spec.maxexectime == 0:
        spec.maxexectime = -1
    try:
        new = new_process(
            spec,
            processid=new_random_id(),
            initiatorid=ctx.caller,
            initiatorname=initiator_name(ctx, ADD_CHILD),
            now=ctx.now(),
            processgraphid=msg.processgraphid,
            waitforparents=True,
        )
    except SubmissionError as exc:
        raise RpcError(400, f"{ADD_CHILD}, {exc}") from None
    await ctx.store.processgraphs.add_child(
        msg.processgraphid,
        msg.parentprocessid,
        msg.childprocessid,
        new,
        msg.insert,
        ctx.now(),
    )
    process = await ctx.store.processes.get(new.process.processid)
    return found(process, "Process")
