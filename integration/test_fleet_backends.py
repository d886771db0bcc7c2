"""A local fleet (cluster/) serving every backend: two replicas with gRPC, CoAP and LibP2P
beside HTTP, gRPC also through HAProxy; one process moved through its life over three
transports and two replicas (docs/protocol.md §12)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from colonies.crypto import parse_private_key
from tests.component.backend_clients import call, coap_client, grpc_client, libp2p_client
from tests.component.test_backends import setup_colony, spec
from tests.support import DEV_SERVER_PRVKEY
from tests.support.fleet import Fleet

pytestmark = pytest.mark.drill


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(replicas=2, etcd_members=1, backends=("http", "grpc", "coap", "libp2p")) as running:
        yield running


async def test_one_process_over_three_backends_and_two_replicas(fleet: Fleet) -> None:
    description = fleet.describe()
    first, second = description["replicas"]  # type: ignore[misc]
    libp2p_info = next(b for b in first["backends"] if b["type"] == "libp2p")
    coap_info = next(b for b in second["backends"] if b["type"] == "coap")
    grpc = grpc_client(fleet.grpc_lb_port)  # through HAProxy
    coap = coap_client(coap_info["port"])
    libp2p = libp2p_client(libp2p_info["multiaddrs"][0])
    try:
        server_key = parse_private_key(DEV_SERVER_PRVKEY)
        _, executor, user = await setup_colony(grpc, server_key)
        submitted = await call(grpc, "submitfuncspecmsg", user, spec=spec("c"))
        assigned = await call(coap, "assignprocessmsg", executor, colonyname="c", timeout=5)
        assert assigned["processid"] == submitted["processid"]
        pid = assigned["processid"]
        await call(libp2p, "closesuccessfulmsg", executor, processid=pid, out=["ok"])
        done = await asyncio.wait_for(call(grpc, "getprocessmsg", user, processid=pid), 10)
        assert done["state"] == 2 and done["out"] == ["ok"]
        info = await call(libp2p, "getserverinfomsg", None)
        assert [b["type"] for b in info["backends"]] == ["http", "grpc", "coap", "libp2p"]
    finally:
        for client in (grpc, coap, libp2p):
            await client.close()
