"""Who and where: executors, users and locations of a colony (docs/protocol.md §6.2 to §6.4,
§7.15)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends, wire
from colonies.core import Allocations, Capabilities, Executor, Location, User


class MemberMethods(ClientBase):
    # --- executors ----------------------------------------------------------------------------
    @sends("addexecutormsg")
    async def add_executor(self, executor: Executor, *, key: KeyArg = None) -> Executor:
        """Register an executor (the colony owner's key); it is PENDING until approved."""
        return await self._typed(Executor, "addexecutormsg", key, executor=wire(executor))

    @sends("approveexecutormsg")
    async def approve_executor(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        """Approve an executor: it becomes a member and may take work (colony owner)."""
        await self.call("approveexecutormsg", key, colonyname=colony, executorname=name)

    @sends("rejectexecutormsg")
    async def reject_executor(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        """Reject an executor: it is no member any more (colony owner)."""
        await self.call("rejectexecutormsg", key, colonyname=colony, executorname=name)

    @sends("removeexecutormsg")
    async def remove_executor(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        """Remove an executor and its functions (colony owner)."""
        await self.call("removeexecutormsg", key, colonyname=colony, executorname=name)

    @sends("getexecutorsmsg")
    async def get_executors(self, colony: str, *, key: KeyArg = None) -> list[Executor]:
        """The colony's executors, in any state."""
        return await self._typed(list[Executor], "getexecutorsmsg", key, colonyname=colony)

    @sends("getexecutormsg")
    async def get_executor(self, colony: str, name: str, *, key: KeyArg = None) -> Executor:
        """One executor by name."""
        return await self._typed(
            Executor, "getexecutormsg", key, colonyname=colony, executorname=name
        )

    @sends("getexecutorbyidmsg")
    async def get_executor_by_id(
        self, colony: str, executorid: str, *, key: KeyArg = None
    ) -> Executor:
        """One executor by ID."""
        return await self._typed(
            Executor, "getexecutorbyidmsg", key, colonyname=colony, executorid=executorid
        )

    @sends("updateexecutormsg")
    async def update_executor(
        self,
        colony: str,
        name: str,
        capabilities: Capabilities,
        *,
        key: KeyArg = None,
    ) -> None:
        """Replace an executor's capabilities (hardware, software; the executor's own key)."""
        await self.call(
            "updateexecutormsg",
            key,
            colonyname=colony,
            executorname=name,
            capabilities=wire(capabilities),
        )

    @sends("reportallocationmsg")
    async def report_allocations(
        self,
        colony: str,
        name: str,
        allocations: Allocations,
        *,
        key: KeyArg = None,
    ) -> None:
        """Report what an executor has allocated and used per project (its own key)."""
        await self.call(
            "reportallocationmsg",
            key,
            colonyname=colony,
            executorname=name,
            allocations=wire(allocations),
        )

    # --- users --------------------------------------------------------------------------------
    @sends("addusermsg")
    async def add_user(self, user: User, *, key: KeyArg = None) -> User:
        """Add a user to a colony (colony owner): it may submit and read work."""
        return await self._typed(User, "addusermsg", key, user=wire(user))

    @sends("removeusermsg")
    async def remove_user(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        """Remove a user (colony owner)."""
        await self.call("removeusermsg", key, colonyname=colony, name=name)

    @sends("getusersmsg")
    async def get_users(self, colony: str, *, key: KeyArg = None) -> list[User]:
        """The colony's users."""
        return await self._typed(list[User], "getusersmsg", key, colonyname=colony)

    @sends("getusermsg")
    async def get_user(self, colony: str, name: str, *, key: KeyArg = None) -> User:
        """A user of the colony by name."""
        return await self._typed(User, "getusermsg", key, colonyname=colony, name=name)

    @sends("getuserbyidmsg")
    async def get_user_by_id(self, colony: str, userid: str, *, key: KeyArg = None) -> User:
        """A user of the colony by ID."""
        return await self._typed(User, "getuserbyidmsg", key, colonyname=colony, userid=userid)

    # --- locations ----------------------------------------------------------------------------
    @sends("addlocationmsg")
    async def add_location(self, location: Location, *, key: KeyArg = None) -> Location:
        """Add a location to a colony (colony owner); its ID is made when empty."""
        return await self._typed(Location, "addlocationmsg", key, location=wire(location))

    @sends("removelocationmsg")
    async def remove_location(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        """Remove a location (colony owner)."""
        await self.call("removelocationmsg", key, colonyname=colony, name=name)

    @sends("getlocationsmsg")
    async def get_locations(self, colony: str, *, key: KeyArg = None) -> list[Location]:
        """The colony's locations."""
        return await self._typed(list[Location], "getlocationsmsg", key, colonyname=colony)

    @sends("getlocationmsg")
    async def get_location(self, colony: str, name: str, *, key: KeyArg = None) -> Location:
        """One location of the colony."""
        return await self._typed(Location, "getlocationmsg", key, colonyname=colony, name=name)
