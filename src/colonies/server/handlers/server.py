"""Server information and statistics (docs/protocol.md §6.15)."""

from __future__ import annotations

from colonies.core import Cluster, Node, ServerInfo, Statistics
from colonies.ha.etcd import parse_endpoints
from colonies.rpc import RpcError
from colonies.rpc.messages import (
    GetClusterMsg,
    GetServerInfoMsg,
    GetStatisticsMsg,
    VersionMsg,
    VersionReply,
)
from colonies.server.context import Context
from colonies.server.handlers.processes import FAST_PATH_FEATURES
from colonies.server.registry import Registry, Role

routes = Registry()


@routes.handles("versionmsg", VersionMsg, Role.NONE, action="Failed to get version")
async def version(ctx: Context, msg: VersionMsg) -> VersionReply:
    return VersionReply(
        buildversion=ctx.config.build_version,
        buildtime=ctx.config.build_time or ctx.state.build_time,
    )


@routes.handles(
    "getserverinfomsg",
    GetServerInfoMsg,
    Role.NONE,
    action="Failed to get server info",
    payload_ignored=True,
)
async def server_info(ctx: Context, msg: GetServerInfoMsg) -> ServerInfo:
    """The transports served, as started (docs/protocol.md §12)."""
    config = ctx.config
    return ServerInfo(
        buildversion=config.build_version,
        buildtime=config.build_time or ctx.state.build_time,
        backends=ctx.state.backends,
        features=FAST_PATH_FEATURES,
    )


@routes.handles(
    "getstatisticsmsg", GetStatisticsMsg, Role.SERVER_OWNER, action="Failed to get statistics"
)
async def statistics(ctx: Context, msg: GetStatisticsMsg) -> Statistics:
    return await ctx.store.server.statistics()


@routes.handles(
    "getclustermsg", GetClusterMsg, Role.SERVER_OWNER, action="Failed to get cluster info"
)
async def cluster(ctx: Context, msg: GetClusterMsg) -> Cluster:
    """The live replicas and the leader (§7.19); ``port`` is the etcd client port, if any."""
    leadership = ctx.state.leadership
    if leadership is None:
        raise RpcError(503, "Failed to get cluster info, leadership not started")
    try:
        view = await leadership.cluster()
    except ConnectionError as exc:
        raise RpcError(503, f"Failed to get cluster info, {exc}") from None
    etcd_port = 0
    if ctx.config.etcd_endpoints:
        etcd_port = parse_endpoints(ctx.config.etcd_endpoints)[0][1]
    nodes = [
        Node(name=r.name, host=r.host, port=etcd_port, apiport=r.apiport) for r in view.replicas
    ]
    leader_node = next((n for n in nodes if n.name == view.leader), Node(name=view.leader))
    return Cluster(nodes=nodes, leader=leader_node)
