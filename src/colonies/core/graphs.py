"""Process graphs without I/O: planning a workflow, graph state, the dashboard layout (§7.9)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

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

__all__ = [
    "GraphError",
    "Member",
    "graph_state",
    "layout",
    "plan_workflow",
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


def _check_acyclic(specs: Sequence[FunctionSpec]) -> None:
    deps = {fs.nodename: list(fs.conditions.dependencies) for fs in specs}
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise GraphError(f"the dependencies of {name} form a cycle")
        visiting.add(name)
        for parent in deps[name]:
            visit(parent)
        visiting.discard(name)
        done.add(name)

    for name in deps:
        visit(name)


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


def layout(members: Sequence[Member]) -> tuple[list[GraphNode], list[Edge]]:
    """Nodes and edges for dashboards: y = depth * 80, rows centred on the widest row."""
    by_id = {m.processid: m for m in members}
    depth: dict[str, int] = {}

    def depth_of(pid: str, guard: int = 0) -> int:
        if pid in depth:
            return depth[pid]
        member = by_id[pid]
        parents = [p for p in member.parents if p in by_id]
        d = (
            0
            if not parents or guard > len(by_id)
            else 1 + max(depth_of(p, guard + 1) for p in parents)
        )
        depth[pid] = d
        return d

    rows: dict[int, list[Member]] = {}
    for m in members:
        rows.setdefault(depth_of(m.processid), []).append(m)
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
