"""Who and where: executors, users and locations of a colony (docs/protocol.md §6.2 to §6.4)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends
from colonies.core import Location, User


class MemberMethods(ClientBase):
    @sends("getuserbyidmsg")
    async def get_user_by_id(self, colony: str, userid: str, *, key: KeyArg = None) -> User:
        """A user of the colony by ID."""
        return await self._typed(User, "getuserbyidmsg", key, colonyname=colony, userid=userid)

    @sends("getlocationmsg")
    async def get_location(self, colony: str, name: str, *, key: KeyArg = None) -> Location:
        """One location of the colony."""
        return await self._typed(Location, "getlocationmsg", key, colonyname=colony, name=name)
