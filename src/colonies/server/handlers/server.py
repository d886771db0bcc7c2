"""Server information and statistics (PROTOCOL.md §6.15)."""

from __future__ import annotations

from colonies.core import ServerBackend, ServerInfo, Statistics
from colonies.rpc.messages import GetServerInfoMsg, GetStatisticsMsg, VersionMsg
from colonies.server.context import Context
from colonies.server.registry import Role, registry


@registry.handles("versionmsg", VersionMsg, Role.NONE, action="Failed to get version")
async def version(ctx: Context, msg: VersionMsg) -> VersionMsg:
    return VersionMsg(
        msgtype="versionmsg",
        buildversion=ctx.config.build_version,
        buildtime=ctx.config.build_time or ctx.state.build_time,
    )


@registry.handles(
    "getserverinfomsg",
    GetServerInfoMsg,
    Role.NONE,
    action="Failed to get server info",
    payload_ignored=True,
)
async def server_info(ctx: Context, msg: GetServerInfoMsg) -> ServerInfo:
    config = ctx.config
    backend = ServerBackend(
        type="http", port=config.port, host=config.advertised_host, tls=config.advertised_tls
    )
    return ServerInfo(
        buildversion=config.build_version,
        buildtime=config.build_time or ctx.state.build_time,
        backends=[backend],
    )


@registry.handles(
    "getstatisticsmsg", GetStatisticsMsg, Role.SERVER_OWNER, action="Failed to get statistics"
)
async def statistics(ctx: Context, msg: GetStatisticsMsg) -> Statistics:
    return await ctx.store.server.statistics()
