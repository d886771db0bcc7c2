"""What this replica knows of the processes it assigned, so that closing one needs no read.

A close names a process; authorization needs its colony and assigned executor, the close its
workflow. For a process this replica just assigned, those are known from the claim. A stale
entry is harmless: the close statement itself only acts on a running process assigned to the
caller, and when it does nothing the handler reads the process to say why.
"""

from __future__ import annotations

from colonies.core import Process, ProcessState
from colonies.store.processes import ProcessBrief


class AssignedProcesses:
    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._briefs: dict[str, ProcessBrief] = {}

    def remember(self, process: Process) -> None:
        self._briefs[process.processid] = ProcessBrief(
            processid=process.processid,
            colonyname=process.spec.conditions.colonyname,
            state=ProcessState.RUNNING,
            assignedexecutorid=process.assignedexecutorid,
            initiatorid=process.initiatorid,
            processgraphid=process.processgraphid,
        )
        if len(self._briefs) > self.capacity:  # executors that never close: drop the oldest
            del self._briefs[next(iter(self._briefs))]

    def take(self, processid: str, caller: str) -> ProcessBrief | None:
        """The brief of a process this replica assigned to ``caller``, forgotten once taken."""
        brief = self._briefs.pop(processid, None)
        return brief if brief is not None and brief.assignedexecutorid == caller else None
