"""Workflows: DAGs of function specs run as process graphs (docs/protocol.md §6.7, §7.9)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends, wire
from colonies.core import FunctionSpec, Process, ProcessGraph, ProcessState, WorkflowSpec


class WorkflowMethods(ClientBase):
    @sends("submitworkflowspecmsg")
    async def submit_workflow(self, spec: WorkflowSpec, *, key: KeyArg = None) -> ProcessGraph:
        """Submit a workflow: one process per function spec, each waiting for the specs its
        ``conditions.dependencies`` name (by ``nodename``). Returns the graph with its
        ``processids``; a cycle, an unknown dependency or a bad spec is a 400."""
        return await self._typed(ProcessGraph, "submitworkflowspecmsg", key, spec=wire(spec))

    @sends("getprocessgraphmsg")
    async def get_workflow(self, processgraphid: str, *, key: KeyArg = None) -> ProcessGraph:
        """One workflow (process graph) with its state, member IDs, nodes and edges."""
        return await self._typed(
            ProcessGraph, "getprocessgraphmsg", key, processgraphid=processgraphid
        )

    @sends("getprocessgraphsmsg")
    async def get_workflows(
        self,
        colony: str,
        state: int = ProcessState.WAITING,
        count: int = 100,
        *,
        key: KeyArg = None,
    ) -> list[ProcessGraph]:
        """Workflows of the colony in ``state``: waiting and running ones oldest first,
        finished ones newest first; at most ``count`` (100 at most)."""
        return await self._typed(
            list[ProcessGraph],
            "getprocessgraphsmsg",
            key,
            colonyname=colony,
            state=int(state),
            count=count,
        )

    @sends("cancelprocessgraphmsg")
    async def cancel_workflow(self, processgraphid: str, *, key: KeyArg = None) -> None:
        """Cancel a waiting or running workflow and its unfinished members."""
        await self.call("cancelprocessgraphmsg", key, processgraphid=processgraphid)

    @sends("removeprocessgraphmsg")
    async def remove_workflow(self, processgraphid: str, *, key: KeyArg = None) -> None:
        """Remove a workflow that is not running, with its processes."""
        await self.call("removeprocessgraphmsg", key, processgraphid=processgraphid, all=False)

    @sends("removeallprocessgraphsmsg")
    async def remove_all_workflows(
        self, colony: str, state: int = ProcessState.NOTSET, *, key: KeyArg = None
    ) -> None:
        """Remove the colony's workflows in ``state`` (the default: every state but running).
        Signed by the colony owner."""
        await self.call("removeallprocessgraphsmsg", key, colonyname=colony, state=int(state))

    @sends("addchildmsg")
    async def add_child(
        self,
        processgraphid: str,
        parentprocessid: str,
        spec: FunctionSpec,
        *,
        childprocessid: str = "",
        insert: bool = False,
        key: KeyArg = None,
    ) -> Process:
        """Grow a running workflow from one of its members (signed by the executor running the
        parent): a new process after ``parentprocessid``; with ``insert`` it goes between the
        parent and the parent's children, else it is one more child (before
        ``childprocessid`` when given). Returns the new process."""
        return await self._typed(
            Process,
            "addchildmsg",
            key,
            processgraphid=processgraphid,
            parentprocessid=parentprocessid,
            childprocessid=childprocessid,
            spec=wire(spec),
            insert=insert,
        )
