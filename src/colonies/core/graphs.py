"""Process graphs without I/O: planning a workflow, graph state, the dashboard layout (§7.9)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from colonies.core.limits import MAX_WORKFLOW_NODES
from colonies.core.objects import (
    Edge,
    FunctionSpec,
    GraphNode,
    GraphNodeData,
    GraphNodePosition,
    GraphNodeStyle,
    ProcessGraph,
    WorkflowSpec,
)
from colonies.core.states import ProcessState
from colonies.core.submission import NewProcess, new_process
from colonies.core.timeutil import utcnow
from colonies.core.wire import decode

__all__ = [
    "GraphError",
    "Member",
    "check_stored_workflow",
    "graph_state",
    "layout",
    "plan_workflow",
    "stored_workflow",
]


class GraphError(ValueError):
    """The workflow breaks a rule of docs/protocol.md §7.9."""


def plan_workflow(
    spec: WorkflowSpec,
    *,
    graphid: str,
    initiatorid: str,
    initiatorname: str,
    now: datetime,
    new_id: Callable[[], str],
    root_input: list[object] | None = None,
) -> tuple[ProcessGraph, list[NewProcess]]:
    """The graph and its processes, parents before children, ready to insert in one go."""
    specs: list[FunctionSpec] = spec.functionspecs
    if not specs:
        raise GraphError("a workflow needs at least one function spec")
    if len(specs) > MAX_WORKFLOW_NODES:
        raise GraphError(f"a workflow may have at most {MAX_WORKFLOW_NODES} function specs")
    ids: dict[str, str] = {}
    for fs in specs:
        if not fs.nodename:
            raise GraphError("every function spec of a workflow needs a nodename")
        if fs.nodename in ids:
            raise GraphError(f"nodename {fs.nodename} is used twice")
        ids[fs.nodename] = new_id()
    children: dict[str, list[str]] = {name: [] for name in ids}
    for fs in specs:
        for parent in fs.conditions.dependencies:
            if parent not in ids:
                raise GraphError(f"{fs.nodename} depends on unknown node {parent}")
            if parent == fs.nodename:
                raise GraphError(f"{fs.nodename} depends on itself")
            children[parent].append(ids[fs.nodename])
    _check_acyclic(specs)

    processes: list[NewProcess] = []
    roots: list[str] = []
    for fs in specs:
        fs.conditions.colonyname = spec.colonyname
        if fs.maxexectime == 0:
            fs.maxexectime = -1  # as upstream: members get "no limit" spelled -1
        is_root = not fs.conditions.dependencies
        new = new_process(
            fs,
            processid=ids[fs.nodename],
            initiatorid=initiatorid,
            initiatorname=initiatorname,
            now=now,
            processgraphid=graphid,
            waitforparents=not is_root,
        )
        new.process.parents = [ids[p] for p in fs.conditions.dependencies]
        new.process.children = children[fs.nodename]
        if is_root:
            roots.append(new.process.processid)
            if root_input:
                new.process.input = list(root_input)
        processes.append(new)
    graph = ProcessGraph(
        processgraphid=graphid,
        initiatorid=initiatorid,
        initiatorname=initiatorname,
        colonyname=spec.colonyname,
        rootprocessids=roots,
        state=ProcessState.WAITING,
        submissiontime=now,
    )
    return graph, processes


def stored_workflow(text: str, colonyname: str) -> WorkflowSpec:
    """A cron's or generator's workflow spec (JSON text) as it is submitted when it fires:
    decoded within the request limits, in its owner's colony. DecodeError (or LimitError)."""
    spec = decode(text, WorkflowSpec, limits=True)
    spec.colonyname = colonyname
    return spec


def check_stored_workflow(text: str, colonyname: str) -> None:
    """Whether a cron's or generator's workflow spec will submit when it fires: the checks of
    a submission, made when it is added. DecodeError, GraphError or SubmissionError."""
    plan_workflow(
        stored_workflow(text, colonyname),
        graphid="",
        initiatorid="",
        initiatorname="",
        now=utcnow(),
        new_id=str,
    )


def _check_acyclic(specs: Sequence[FunctionSpec]) -> None:
    """Kahn's algorithm, without recursion: a graph of any depth is checked in linear time."""
    waiting_on = {fs.nodename: len(fs.conditions.dependencies) for fs in specs}
    children: dict[str, list[str]] = {fs.nodename: [] for fs in specs}
    for fs in specs:
        for parent in fs.conditions.dependencies:
            children[parent].append(fs.nodename)
    ready = [name for name, count in waiting_on.items() if count == 0]
    while ready:
        for child in children[ready.pop()]:
            waiting_on[child] -= 1
            if waiting_on[child] == 0:
                ready.append(child)
    for fs in specs:
        if waiting_on[fs.nodename]:
            raise GraphError(f"the dependencies of {fs.nodename} form a cycle")


def graph_state(states: Sequence[int]) -> int:
    """Any FAILED → FAILED; else any CANCELLED → CANCELLED; all SUCCESS → SUCCESS;
    any SUCCESS or RUNNING → RUNNING; else WAITING (§7.9)."""
    if not states:
        return ProcessState.WAITING
    present = set(states)
    if ProcessState.FAILED in present:
        return ProcessState.FAILED
    if ProcessState.CANCELLED in present:
        return ProcessState.CANCELLED
    if present == {ProcessState.SUCCESS}:
        return ProcessState.SUCCESS
    if present & {ProcessState.SUCCESS, ProcessState.RUNNING}:
        return ProcessState.RUNNING
    return ProcessState.WAITING


@dataclass(frozen=True, slots=True)
class Member:
    """What the layout needs of one member."""

    processid: str
    nodename: str
    parents: list[str]
    children: list[str]
    state: int


_BACKGROUND: dict[int, str] = {
    ProcessState.WAITING: "#eee8d8",
    ProcessState.RUNNING: "#4689cd",
    ProcessState.SUCCESS: "#92d050",
    ProcessState.FAILED: "#cb4239",
    ProcessState.CANCELLED: "#f5a623",
}
_ROW_HEIGHT = 80
_NODE_WIDTH = 150
_PADDING = 50


def _depths(members: Sequence[Member], by_id: dict[str, Member]) -> dict[str, int]:
    """Each member's depth: the longest chain of parents above it (roots 0). Without recursion,
    and finite on a graph that is no DAG (members of a cycle stay at depth 0)."""
    waiting_on: dict[str, int] = {}
    children: dict[str, list[str]] = {m.processid: [] for m in members}
    for m in members:
        parents = [p for p in m.parents if p in by_id]
        waiting_on[m.processid] = len(parents)
        for parent in parents:
            children[parent].append(m.processid)
    depth = {m.processid: 0 for m in members}
    ready = [pid for pid, count in waiting_on.items() if count == 0]
    while ready:
        pid = ready.pop()
        for child in children[pid]:
            depth[child] = max(depth[child], depth[pid] + 1)
            waiting_on[child] -= 1
            if waiting_on[child] == 0:
                ready.append(child)
    return depth


def layout(members: Sequence[Member]) -> tuple[list[GraphNode], list[Edge]]:
    """Nodes and edges for dashboards: y = depth * 80, rows centred on the widest row."""
    by_id = {m.processid: m for m in members}
    depth = _depths(members, by_id)
    rows: dict[int, list[Member]] = {}
    for m in members:
        rows.setdefault(depth[m.processid], []).append(m)
    widest = max((len(r) for r in rows.values()), default=0)
    full_width = widest * (_NODE_WIDTH + _PADDING)
    nodes: list[GraphNode] = []
    for d in sorted(rows):
        row = rows[d]
        offset = (full_width - len(row) * (_NODE_WIDTH + _PADDING)) // 2
        for i, m in enumerate(row):
            if not m.parents:
                kind = "input"
            elif not m.children:
                kind = "output"
            else:
                kind = ""
            nodes.append(
                GraphNode(
                    id=m.processid,
                    data=GraphNodeData(label=m.nodename),
                    position=GraphNodePosition(
                        x=offset + i * (_NODE_WIDTH + _PADDING), y=d * _ROW_HEIGHT
                    ),
                    type=kind,
                    style=GraphNodeStyle(color="", background=_BACKGROUND.get(m.state, "")),
                )
            )
    edges = [
        Edge(
            id=f"{parent}-{m.processid}",
            source=parent,
            target=m.processid,
            animated=by_id[parent].state == ProcessState.RUNNING if parent in by_id else False,
        )
        for m in members
        for parent in m.parents
    ]
    return nodes, edges
