"""Server: its version, backends, statistics, replicas and health (docs/protocol.md §6.15)."""

from __future__ import annotations

from colonies.client._base import ClientBase, KeyArg, sends
from colonies.core import Cluster, ServerInfo, Statistics
from colonies.core.wire import decode_value


class ServerMethods(ClientBase):
    @sends("versionmsg")
    async def version(self) -> dict[str, str]:
        """The server's build (``buildversion``, ``buildtime``); needs no key."""
        reply: dict[str, str] = await self.rpc.call("versionmsg", None)
        return reply

    @sends("getserverinfomsg")
    async def server_info(self) -> ServerInfo:
        """The server's build and the backends it serves on (type, host, port, TLS); needs
        no key."""
        return decode_value(await self.rpc.call("getserverinfomsg", None), ServerInfo)

    @sends("getstatisticsmsg")
    async def statistics(self, *, key: KeyArg = None) -> Statistics:
        """Counts of colonies, executors, processes and workflows by state over every colony
        (the server owner's key)."""
        return await self._typed(Statistics, "getstatisticsmsg", key)

    @sends("getclustermsg")
    async def cluster(self, *, key: KeyArg = None) -> Cluster:
        """The live replicas and the leader (the server owner's key)."""
        return await self._typed(Cluster, "getclustermsg", key)

    async def health(self, timeout: float = 5.0) -> bool:
        """``GET /health`` answered 200 (not a message; connection errors propagate)."""
        return await self.rpc.transport.health(timeout)
