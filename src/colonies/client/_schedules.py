"""Crons and generators: workflows started by time or by packed arguments
(docs/protocol.md §6.10, §6.11, §7.10, §7.11)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends, wire
from colonies.core import Cron, Generator, WorkflowSpec
from colonies.core.wire import encode


def _workflow_text(colony: str, workflow: WorkflowSpec) -> str:
    """The workflow as the JSON string crons and generators store, in ``colony``."""
    if not workflow.colonyname:
        workflow = WorkflowSpec(colonyname=colony, functionspecs=workflow.functionspecs)
    return encode(wire(workflow)).decode()


class ScheduleMethods(ClientBase):
    # --- crons --------------------------------------------------------------------------------
    @sends("addcronmsg")
    async def add_cron(
        self,
        colony: str,
        name: str,
        workflow: WorkflowSpec,
        *,
        expression: str = "",
        interval: int = 0,
        wait_for_previous: bool = False,
        key: KeyArg = None,
    ) -> Cron:
        """Start ``workflow`` on a schedule: a cron ``expression`` (six fields, seconds first:
        ``0 0 3 * * *`` is 03:00 every day; or ``@every 10s``, ``@daily``, ...) or every
        ``interval`` seconds; exactly one of the two. With ``wait_for_previous`` a run starts
        only once the previous run's workflow has ended."""
        if bool(expression) == (interval > 0):
            raise ValueError("give a cron expression or an interval in seconds (one of them)")
        cron = Cron(
            colonyname=colony,
            name=name,
            cronexpression=expression,
            interval=interval if interval > 0 else -1,
            waitforprevprocessgraph=wait_for_previous,
            workflowspec=_workflow_text(colony, workflow),
        )
        return await self._typed(Cron, "addcronmsg", key, cron=wire(cron))

    @sends("getcronmsg")
    async def get_cron(self, cronid: str, *, key: KeyArg = None) -> Cron:
        """One cron, with its next and last run and the workflow it starts (``workflowspec``,
        a JSON string)."""
        return await self._typed(Cron, "getcronmsg", key, cronid=cronid)

    @sends("getcronsmsg")
    async def get_crons(self, colony: str, count: int = 100, *, key: KeyArg = None) -> list[Cron]:
        """The colony's crons by name, at most ``count``."""
        return await self._typed(list[Cron], "getcronsmsg", key, colonyname=colony, count=count)

    @sends("runcronmsg")
    async def run_cron(self, cronid: str, *, key: KeyArg = None) -> Cron:
        """Start the cron's workflow now (unless it waits for a previous run still going);
        returns the cron afterwards (``prevprocessgraphid`` is the new run)."""
        return await self._typed(Cron, "runcronmsg", key, cronid=cronid)

    @sends("removecronmsg")
    async def remove_cron(self, cronid: str, *, key: KeyArg = None) -> None:
        """Remove a cron (workflows it started are left alone)."""
        await self.call("removecronmsg", key, cronid=cronid, all=False)

    # --- generators ---------------------------------------------------------------------------
    @sends("addgeneratormsg")
    async def add_generator(
        self,
        colony: str,
        name: str,
        workflow: WorkflowSpec,
        trigger: int,
        timeout: int = -1,
        *,
        key: KeyArg = None,
    ) -> Generator:
        """Start ``workflow`` once ``trigger`` arguments have been packed (each run takes
        ``trigger`` of them as the root specs' ``args``), or, with ``timeout`` > 0, with fewer
        once ``timeout`` seconds have passed since the last run."""
        generator = Generator(
            colonyname=colony,
            name=name,
            workflowspec=_workflow_text(colony, workflow),
            trigger=trigger,
            timeout=timeout,
        )
        return await self._typed(Generator, "addgeneratormsg", key, generator=wire(generator))

    @sends("getgeneratormsg")
    async def get_generator(self, generatorid: str, *, key: KeyArg = None) -> Generator:
        """One generator, with ``queuesize``: the arguments packed and not yet used."""
        return await self._typed(Generator, "getgeneratormsg", key, generatorid=generatorid)

    @sends("resolvegeneratormsg")
    async def resolve_generator(self, colony: str, name: str, *, key: KeyArg = None) -> Generator:
        """A generator by its name."""
        return await self._typed(
            Generator, "resolvegeneratormsg", key, colonyname=colony, generatorname=name
        )

    @sends("getgeneratorsmsg")
    async def get_generators(
        self, colony: str, count: int = 100, *, key: KeyArg = None
    ) -> list[Generator]:
        """The colony's generators by name, at most ``count``."""
        return await self._typed(
            list[Generator], "getgeneratorsmsg", key, colonyname=colony, count=count
        )

    @sends("packgeneratormsg")
    async def pack_generator(self, generatorid: str, arg: str, *, key: KeyArg = None) -> None:
        """Queue one argument for the generator's next run."""
        await self.call("packgeneratormsg", key, generatorid=generatorid, arg=arg)

    @sends("removegeneratormsg")
    async def remove_generator(self, generatorid: str, *, key: KeyArg = None) -> None:
        """Remove a generator and the arguments queued for it."""
        await self.call("removegeneratormsg", key, generatorid=generatorid, all=False)
