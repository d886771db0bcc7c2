"""Colonies: adding and listing them, their statistics, pausing their assignments
(docs/protocol.md §6.1, §7.16, §7.18)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends, wire
from colonies.core import Colony, Statistics


class ColonyMethods(ClientBase):
    @sends("addcolonymsg")
    async def add_colony(self, colony: Colony, *, key: KeyArg = None) -> Colony:
        """Add a colony owned by ``colony.colonyid`` (the server owner's key)."""
        return await self._typed(Colony, "addcolonymsg", key, colony=wire(colony))

    @sends("removecolonymsg")
    async def remove_colony(self, name: str, *, key: KeyArg = None) -> None:
        """Remove a colony and everything in it (the server owner's key)."""
        await self.call("removecolonymsg", key, colonyname=name)

    @sends("getcoloniesmsg")
    async def get_colonies(self, *, key: KeyArg = None) -> list[Colony]:
        """Every colony (the server owner's key)."""
        return await self._typed(list[Colony], "getcoloniesmsg", key)

    @sends("getcolonymsg")
    async def get_colony(self, name: str, *, key: KeyArg = None) -> Colony:
        """One colony (a member's key)."""
        return await self._typed(Colony, "getcolonymsg", key, colonyname=name)

    @sends("getcolonystatsmsg")
    async def colony_statistics(self, name: str, *, key: KeyArg = None) -> Statistics:
        """The colony's executors, and its processes and workflows by state."""
        return await self._typed(Statistics, "getcolonystatsmsg", key, colonyname=name)

    @sends("pauseassignmentsmsg")
    async def pause_assignments(self, colony: str, *, key: KeyArg = None) -> None:
        """Stop handing out the colony's processes (colony owner); submissions go on."""
        await self.call("pauseassignmentsmsg", key, colonyname=colony)

    @sends("resumeassignmentsmsg")
    async def resume_assignments(self, colony: str, *, key: KeyArg = None) -> None:
        """Hand out the colony's processes again (colony owner); waiting polls wake at once."""
        await self.call("resumeassignmentsmsg", key, colonyname=colony)

    @sends("getpausestatusmsg")
    async def assignments_paused(self, colony: str, *, key: KeyArg = None) -> bool:
        """Whether the colony's assignments are paused."""
        reply = await self.call("getpausestatusmsg", key, colonyname=colony)
        return bool(reply.get("ispaused", False))
