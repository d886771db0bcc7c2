"""Colonies: add, list, statistics, and pausing their assignments (docs/protocol.md §6.1,
§7.16)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends


class ColonyMethods(ClientBase):
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
