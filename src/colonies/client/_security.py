"""Moving an identity to a new key: the four ID rotations (docs/protocol.md §6.14).

Each is signed by the key that holds the identity now (the colony owner's for a colony, the
server owner's for the server); the old key loses its access at once. The new ID may belong to
either signature scheme, so these also move an identity from secp256k1 to Ed25519.
"""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends


class SecurityMethods(ClientBase):
    @sends("changeuseridmsg")
    async def change_user_id(self, colony: str, new_id: str, *, key: KeyArg = None) -> None:
        """Give the calling user a new ID (signed with the user's current key)."""
        await self.call("changeuseridmsg", key, colonyname=colony, userid=new_id)

    @sends("changeexecutoridmsg")
    async def change_executor_id(self, colony: str, new_id: str, *, key: KeyArg = None) -> None:
        """Give the calling executor a new ID (signed with the executor's current key)."""
        await self.call("changeexecutoridmsg", key, colonyname=colony, executorid=new_id)

    @sends("changecolonyidmsg")
    async def change_colony_id(self, colony: str, new_id: str, *, key: KeyArg = None) -> None:
        """Give the colony a new owner ID (signed with the colony owner's current key)."""
        await self.call("changecolonyidmsg", key, colonyname=colony, colonyid=new_id)

    @sends("changeserveridmsg")
    async def change_server_id(self, new_id: str, *, key: KeyArg = None) -> None:
        """Give the server a new owner ID (signed with the server owner's current key)."""
        await self.call("changeserveridmsg", key, serverid=new_id)
