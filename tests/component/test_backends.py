"""The same lifecycle over every backend (docs/protocol.md §12): HTTP, gRPC, CoAP and LibP2P
served at once by one replica, each driven by a plain client of its own protocol
(tests/component/backend_clients.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from colonies.crypto import PrivateKey, generate_private_key
from colonies.rpc import sign_request
from colonies.server.app import STATE_KEY
from tests.component.backend_clients import (
    BackendClient,
    call,
    coap_client,
    error_of,
    grpc_client,
    http_client,
    libp2p_client,
)
from tests.helpers import RunningServer, eventually, make_config, serving, start_server
from tests.support import free_port

BACKENDS = ("http", "grpc", "coap", "libp2p")
MAX_BODY = 256 * 1024


@pytest.fixture
async def multi(db_url: str, server_key: PrivateKey) -> AsyncIterator[RunningServer]:
    """One replica serving all four backends, with a 256 KiB body limit."""
    config = make_config(
        db_url,
        server_key,
        backends=BACKENDS,
        grpc_port=free_port(),
        coap_port=free_port(),
        libp2p_port=free_port(),
        max_body=MAX_BODY,
    )
    async with serving(config) as server:
        yield server


def libp2p_multiaddr(server: RunningServer) -> str:
    info = server.app[STATE_KEY].backends
    return next(b for b in info if b.type == "libp2p").multiaddrs[0]


def client_for(server: RunningServer, backend: str) -> BackendClient:
    config = server.config
    if backend == "http":
        return http_client(config.port)
    if backend == "grpc":
        return grpc_client(config.grpc_port)
    if backend == "coap":
        return coap_client(config.coap_port)
    return libp2p_client(libp2p_multiaddr(server))


@pytest.fixture(params=BACKENDS)
async def client(
    request: pytest.FixtureRequest, multi: RunningServer
) -> AsyncIterator[BackendClient]:
    client = client_for(multi, request.param)
    try:
        yield client
    finally:
        await client.close()


def spec(colony: str, funcname: str = "echo", **extra: Any) -> dict[str, Any]:
    return {
        "funcname": funcname,
        "conditions": {"colonyname": colony, "executortype": "cli", **extra.pop("conditions", {})},
        "maxexectime": -1,
        "maxwaittime": -1,
        "maxretries": -1,
        **extra,
    }


async def setup_colony(
    client: BackendClient, server_key: PrivateKey
) -> tuple[PrivateKey, PrivateKey, PrivateKey]:
    """A colony "c" with an approved executor (v1.9.4's capabilities shape) and a user, set up
    over ``client``."""
    owner, executor, user = (generate_private_key() for _ in range(3))
    await call(client, "addcolonymsg", server_key, colony={"colonyid": owner.id, "name": "c"})
    executor_obj = {
        "executorid": executor.id,
        "executorname": "exec-1",
        "executortype": "cli",
        "colonyname": "c",
        # v1.9.4's clients send one object each, later ones arrays: both are accepted.
        "capabilities": {"hardware": {"model": "m1", "cores": 4}, "software": {"name": "py"}},
    }
    await call(client, "addexecutormsg", owner, executor=executor_obj)
    await call(client, "approveexecutormsg", owner, colonyname="c", executorname="exec-1")
    await call(
        client, "addusermsg", owner, user={"colonyname": "c", "userid": user.id, "name": "u"}
    )
    return owner, executor, user


async def test_lifecycle(client: BackendClient, multi: RunningServer, server_key: PrivateKey):
    _, executor, user = await setup_colony(client, server_key)
    got = await call(client, "getexecutormsg", user, colonyname="c", executorname="exec-1")
    assert got["capabilities"]["hardware"][0]["model"] == "m1"
    assert got["capabilities"]["software"] == [{"name": "py", "type": "", "version": ""}]

    # submit -> assign (a waiting long poll) -> log -> close, with a 40 KB argument: CoAP moves
    # it in Block1 blocks and its reply in Block2 blocks.
    big = "x" * 40_000
    poll = asyncio.create_task(
        call(client, "assignprocessmsg", executor, colonyname="c", timeout=10)
    )
    await asyncio.sleep(0.3)
    submitted = await call(client, "submitfuncspecmsg", user, spec=spec("c", args=[big]))
    assigned = await poll
    assert assigned["processid"] == submitted["processid"]
    assert assigned["spec"]["args"] == [big]
    pid = assigned["processid"]
    await call(client, "addlogmsg", executor, processid=pid, message="hello from " + client.name)
    await call(client, "closesuccessfulmsg", executor, processid=pid, out=["done"])
    done = await call(client, "getprocessmsg", user, processid=pid)
    assert done["state"] == 2 and done["out"] == ["done"]
    logs = await call(client, "getlogsmsg", user, colonyname="c", processid=pid, count=10)
    assert [entry["message"] for entry in logs] == ["hello from " + client.name]

    # a workflow: the child gets the parent's output
    graph = await call(
        client,
        "submitworkflowspecmsg",
        user,
        spec={
            "colonyname": "c",
            "functionspecs": [
                {**spec("c", "gen"), "nodename": "gen"},
                {**spec("c", "sum", conditions={"dependencies": ["gen"]}), "nodename": "sum"},
            ],
        },
    )
    gen = await call(client, "assignprocessmsg", executor, colonyname="c", timeout=5)
    assert gen["spec"]["funcname"] == "gen"
    await call(client, "closesuccessfulmsg", executor, processid=gen["processid"], out=[1, 2])
    total = await call(client, "assignprocessmsg", executor, colonyname="c", timeout=5)
    assert total["spec"]["funcname"] == "sum" and total["in"] == [1, 2]
    await call(client, "closesuccessfulmsg", executor, processid=total["processid"], out=[3])
    finished = await call(
        client, "getprocessgraphmsg", user, processgraphid=graph["processgraphid"]
    )
    assert finished["state"] == 2

    # a bad signature, a role refusal, a replay, an oversized message: error envelopes
    envelope = json.loads(sign_request("getprocessmsg", {"processid": pid}, user))
    envelope["signature"] = "00" * 65
    bad = error_of(await client.send(json.dumps(envelope).encode()))
    assert bad.status == 403
    refused = error_of(
        await client.send(sign_request("closefailedmsg", {"processid": pid, "errors": []}, user))
    )
    assert refused.status == 403
    once = sign_request("getprocessmsg", {"processid": pid}, user)
    await client.send(once)
    assert error_of(await client.send(once)).message.startswith("Replayed request")
    oversized = sign_request("submitfuncspecmsg", {"spec": spec("c", args=["y" * MAX_BODY])}, user)
    too_large = error_of(await client.send(oversized))
    assert too_large.status == 413
    assert error_of(await client.send(b"not json")).status == 400

    # the server lists every backend it serves; the metrics count by backend
    info = await call(client, "getserverinfomsg", None)
    assert [b["type"] for b in info["backends"]] == list(BACKENDS)
    ports = {b["type"]: b["port"] for b in info["backends"]}
    assert ports["grpc"] == multi.config.grpc_port and ports["coap"] == multi.config.coap_port
    libp2p = next(b for b in info["backends"] if b["type"] == "libp2p")
    assert libp2p["multiaddrs"][0].startswith(f"/ip4/127.0.0.1/tcp/{multi.config.libp2p_port}/p2p/")
    metrics = multi.app[STATE_KEY].metrics.rpc_requests
    counted = metrics.labels("submitfuncspecmsg", "200", client.name)._value.get()
    assert counted == 1
    assert metrics.labels("getprocessmsg", "403", client.name)._value.get() >= 2


def signed_raw(payloadtype: str, payload_json: bytes, key: PrivateKey) -> bytes:
    """An envelope around payload JSON as it is (sign_request would re-encode a value)."""
    text = base64.b64encode(payload_json).decode()
    return json.dumps(
        {"signature": key.sign(text.encode()), "payloadtype": payloadtype, "payload": text}
    ).encode()


async def test_hostile_input_over_each_backend(
    client: BackendClient, multi: RunningServer, server_key: PrivateKey
):
    """Issue 16's inputs reach the one pipeline over every backend (server/dispatch.py): the
    request limits (core/limits.py), the known-key rule for large payloads and the envelope's
    nesting give the same 4xx error envelope HTTP gives, and the server goes on serving."""
    _, _, user = await setup_colony(client, server_key)
    deep = b"[" * 1000 + b"]" * 1000
    # nested 1,000 deep in the envelope, and in the payload
    reply = await client.send(b'{"signature": "", "x": ' + deep + b"}")
    assert (error_of(reply).status, error_of(reply).message) == (
        400,
        "Failed to parse RPC message, invalid JSON envelope",
    )
    body = b'{"msgtype": "getcolonymsg", "colonyname": "c", "a": ' + deep + b"}"
    error = error_of(await client.send(signed_raw("getcolonymsg", body, user)))
    assert (error.status, error.message) == (
        400,
        "Failed to get colony, Nested deeper than 64 levels - at `$`",
    )
    args: Any = 1
    for _ in range(100):
        args = [args]
    error = error_of(
        await client.send(sign_request("submitfuncspecmsg", {"spec": spec("c", args=args)}, user))
    )
    assert error.status == 400 and "Nested deeper than 64 levels" in error.message
    # an oversized name is refused, and not echoed
    long_name = "f" * 100_000
    error = error_of(
        await client.send(
            sign_request("submitfuncspecmsg", {"spec": spec("c", funcname=long_name)}, user)
        )
    )
    assert error.status == 400 and "String longer than 256 characters" in error.message
    assert len(error.message) < 200, error.message
    # an out-of-range integer
    error = error_of(
        await client.send(
            sign_request("submitfuncspecmsg", {"spec": spec("c", maxwaittime=10**12)}, user)
        )
    )
    assert error.status == 400 and "Integer larger than" in error.message
    # a large payload from a key the server does not know is not decoded
    stranger = generate_private_key()
    error = error_of(
        await client.send(
            sign_request("addlogmsg", {"processid": "p" * 64, "message": "m" * 100_000}, stranger)
        )
    )
    assert error.status == 403 and "signing key is not known" in error.message
    # a subscription nested too deep is refused with an error, not a dropped stream
    deep_subscription = b'{"msgtype": "subscribeprocessesmsg", "colonyname": "c", "a": ' + deep
    replies = [r async for r in client.subscribe(signed_raw(
        "subscribeprocessesmsg", deep_subscription + b"}", user
    ))]  # fmt: skip
    assert len(replies) == 1 and error_of(replies[0]).status == 400
    # and the server still serves this backend
    got = await call(client, "getcolonymsg", user, colonyname="c")
    assert got["name"] == "c"
    errors = multi.app[STATE_KEY].metrics.rpc_requests
    assert errors.labels("submitfuncspecmsg", "500", client.name)._value.get() == 0


def pushed(reply: bytes) -> tuple[dict[str, Any], Any]:
    envelope = json.loads(reply)
    return envelope, json.loads(base64.b64decode(envelope["payload"]))


async def test_subscriptions(client: BackendClient, multi: RunningServer, server_key: PrivateKey):
    """A process subscription and a processes subscription over each backend (a project
    addition beyond HTTP's WebSocket), and a refused one."""
    _, executor, user = await setup_colony(client, server_key)
    submitted = await call(client, "submitfuncspecmsg", user, spec=spec("c"))
    pid = submitted["processid"]
    one = sign_request(
        "subscribeprocessmsg",
        {"colonyname": "c", "processid": pid, "executortype": "cli", "state": 2, "timeout": 10},
        user,
    )
    many = sign_request(
        "subscribeprocessesmsg",
        {"colonyname": "c", "executortype": "cli", "state": 0, "timeout": 3},
        user,
    )

    async def collect(envelope: bytes, count: int) -> list[bytes]:
        replies = []
        async for reply in client.subscribe(envelope):
            replies.append(reply)
            if len(replies) == count:
                break
        return replies

    waiting_one = asyncio.create_task(collect(one, 1))
    waiting_many = asyncio.create_task(collect(many, 3))
    subscriptions = multi.app[STATE_KEY].subscriptions
    await eventually(lambda: len(subscriptions) == 2, "both subscriptions registered")
    # Three new WAITING processes at once, each with a 3 KB argument: on CoAP each push is
    # fetched block by block, and the next must not replace the one being fetched.
    await asyncio.gather(
        *(
            call(client, "submitfuncspecmsg", user, spec=spec("c", args=["z" * 3000]))
            for _ in range(3)
        )
    )
    await call(client, "assignprocessmsg", executor, colonyname="c", timeout=-1)
    await call(client, "closesuccessfulmsg", executor, processid=pid, out=[])
    [reply] = await asyncio.wait_for(waiting_one, 10)
    envelope, process = pushed(reply)
    assert envelope["error"] is False and process["processid"] == pid and process["state"] == 2
    replies = await asyncio.wait_for(waiting_many, 10)
    assert len({pushed(r)[1]["processid"] for r in replies}) == 3
    assert all(pushed(r)[1]["spec"]["args"] == ["z" * 3000] for r in replies)

    stranger = generate_private_key()
    refused = sign_request(
        "subscribeprocessmsg",
        {"colonyname": "c", "processid": pid, "executortype": "cli", "state": 2, "timeout": 5},
        stranger,
    )
    [reply] = await asyncio.wait_for(collect(refused, 1), 10)
    assert error_of(reply).status == 403


@pytest.mark.parametrize("backend", ["grpc", "coap", "libp2p"])
async def test_long_poll_clamped(
    backend: str, multi: RunningServer, server_key: PrivateKey, monkeypatch: pytest.MonkeyPatch
):
    """An assign asking to wait longer than the backend's clients wait answers "no process"
    in time (the clamp is 25 s on gRPC and CoAP, 80 s on LibP2P; 1 s here)."""
    module = f"colonies.server.transports.{backend}_backend"
    monkeypatch.setattr(f"{module}.MAX_WAIT", 1.0)
    client = client_for(multi, backend)
    try:
        _, executor, _ = await setup_colony(client, server_key)
        started = time.monotonic()
        reply = await client.send(
            sign_request("assignprocessmsg", {"colonyname": "c", "timeout": 20}, executor)
        )
        assert error_of(reply).status == 404
        assert time.monotonic() - started < 8
    finally:
        await client.close()


async def test_libp2p_request_in_pieces(multi: RunningServer, server_key: PrivateKey):
    """A request that arrives in several reads (upstream's server read once and failed),
    written as upstream's Go client writes it: no half-close, then the reply read to EOF."""
    import trio
    from libp2p.custom_types import TProtocol

    from colonies.p2p import RPC_PROTOCOL
    from colonies.p2p.host import read_to_eof
    from tests.component.backend_clients import reply_payload

    client = libp2p_client(libp2p_multiaddr(multi))
    try:
        _, _, user = await setup_colony(client, server_key)
        envelope = sign_request("getcolonymsg", {"colonyname": "c"}, user)
        transport: Any = client.transport
        host, server = await transport._connected()

        async def in_four_pieces() -> bytes:
            stream = await host.host.new_stream(server, [TProtocol(RPC_PROTOCOL)])
            size = -(-len(envelope) // 4)
            for start in range(0, len(envelope), size):
                await stream.write(envelope[start : start + size])
                await trio.sleep(0.05)
            reply: bytes = await read_to_eof(stream, 1 << 20)  # ends: the server closed
            return reply

        colony = reply_payload(await asyncio.wait_for(host.run(in_four_pieces), 10))
        assert colony["name"] == "c"
    finally:
        await client.close()


async def test_health_over_each_backend(multi: RunningServer):
    """gRPC's CheckHealth, CoAP's GET /health, LibP2P's answer to versionmsg; and an unknown
    CoAP resource is 4.04."""
    import aiocoap

    for backend in ("grpc", "coap", "libp2p"):
        client = client_for(multi, backend)
        try:
            assert await client.transport.health(5) is True, backend
        finally:
            await client.close()
    context = await aiocoap.Context.create_client_context()
    try:
        missing = await context.request(
            aiocoap.Message(code=aiocoap.GET, uri=f"coap://127.0.0.1:{multi.config.coap_port}/x")
        ).response
        assert str(missing.code).startswith("4.04")
    finally:
        await context.shutdown()


async def test_graceful_stop(db_url: str, server_key: PrivateKey):
    """Stopping the replica answers the long polls waiting on each backend ("no process"),
    ends the subscriptions, then closes every port."""
    config = make_config(
        db_url,
        server_key,
        backends=BACKENDS,
        grpc_port=free_port(),
        coap_port=free_port(),
        libp2p_port=free_port(),
    )
    runner, app = await start_server(config)
    server = RunningServer("", config.port, config, None, app)  # type: ignore[arg-type]
    clients = [client_for(server, backend) for backend in BACKENDS]
    try:
        _, executor, _ = await setup_colony(clients[0], server_key)
        for c in clients[1:]:  # connected before the stop
            await call(c, "versionmsg", None)
        polls = [
            asyncio.create_task(
                c.send(
                    sign_request("assignprocessmsg", {"colonyname": "c", "timeout": 30}, executor),
                    timeout=20,
                )
            )
            for c in clients
        ]

        async def subscribe(client: BackendClient) -> list[bytes]:
            subscription = sign_request(
                "subscribeprocessesmsg",
                {"colonyname": "c", "executortype": "cli", "state": 0, "timeout": 60},
                executor,
            )
            return [reply async for reply in client.subscribe(subscription)]

        subscriptions = [asyncio.create_task(subscribe(c)) for c in clients]
        state = app[STATE_KEY]
        await eventually(
            lambda: (
                len(state.subscriptions) == 4 and state.metrics.assign_waiting._value.get() == 4
            ),
            "all four waiting and subscribed",
        )
        started = time.monotonic()
        await runner.cleanup()
        assert time.monotonic() - started < 6  # the subscriptions did not hold it up
        for poll in polls:
            assert error_of(await asyncio.wait_for(poll, 10)).status == 404
        # Each subscriber learns that its subscription ended, in its transport's way.
        _, pending = await asyncio.wait(subscriptions, timeout=5)
        assert not pending, [BACKENDS[subscriptions.index(t)] for t in pending]
        ends = {
            backend: task.exception() or task.result()
            for backend, task in zip(BACKENDS, subscriptions, strict=True)
        }
        assert ends["http"] == []  # the socket closed (going away)
        for backend in ("grpc", "coap", "libp2p"):  # a last error envelope says why
            [final] = ends[backend]
            assert error_of(final).status == 503, backend
        grpc_client = clients[1]
        with pytest.raises(Exception):  # noqa: B017  # grpc's own error: nothing listens
            await grpc_client.send(sign_request("versionmsg", {}, None), timeout=2)
    finally:
        for c in clients:
            await c.close()


@pytest.mark.parametrize("backend", ["grpc", "coap", "libp2p"])
async def test_port_in_use_is_a_one_line_startup_error(
    backend: str, db_url: str, server_key: PrivateKey
):
    import socket

    from colonies.server.run import StartupError, serve

    kind = socket.SOCK_DGRAM if backend == "coap" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        config = make_config(
            db_url, server_key, backends=("http", backend), **{f"{backend}_port": port}
        )
        with pytest.raises(StartupError) as error:
            await asyncio.wait_for(serve(config, asyncio.Event()), 30)
    message = str(error.value)
    assert message.startswith("cannot start: ") and f"{port}" in message, message
    assert "\n" not in message


async def test_grpc_over_tls(db_url: str, server_key: PrivateKey, tmp_path):
    """gRPC with the HTTP certificate (COLONIES_TLSCERT/KEY); a cleartext client is refused."""
    import grpc

    from colonies.rpc.proto import colonies_pb2 as pb
    from colonies.rpc.proto import colonies_pb2_grpc as pb_grpc
    from tests.component.test_tls import make_ca_and_certificate

    ca, cert, key = await asyncio.to_thread(make_ca_and_certificate, tmp_path)
    config = make_config(
        db_url,
        server_key,
        backends=("http", "grpc"),
        grpc_port=free_port(),
        tls_cert=str(cert),
        tls_key=str(key),
        grpc_tls_cert=str(cert),
        grpc_tls_key=str(key),
    )
    runner, _ = await start_server(config)
    request = pb.RPCRequest(json_payload=sign_request("getserverinfomsg", {}, None).decode())
    try:
        credentials = grpc.ssl_channel_credentials(ca.read_bytes())
        async with grpc.aio.secure_channel(f"localhost:{config.grpc_port}", credentials) as channel:
            reply = await pb_grpc.ColoniesServiceStub(channel).SendMessage(request, timeout=10)
        info = json.loads(base64.b64decode(json.loads(reply.json_payload)["payload"]))
        assert {"type": "grpc", "port": config.grpc_port, "tls": True} in info["backends"]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{config.grpc_port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError):
                await pb_grpc.ColoniesServiceStub(channel).SendMessage(request, timeout=3)
    finally:
        await runner.cleanup()


async def test_channel_subscription(client: BackendClient, server_key: PrivateKey):
    """A channel's entries pushed over each backend until the subscription's timeout ends it
    (a last, empty list)."""
    _, executor, user = await setup_colony(client, server_key)
    submitted = await call(client, "submitfuncspecmsg", user, spec=spec("c", channels=["chat"]))
    pid = submitted["processid"]
    await call(client, "assignprocessmsg", executor, colonyname="c", timeout=-1)
    envelope = sign_request(
        "subscribechannelmsg", {"processid": pid, "name": "chat", "afterseq": 0, "timeout": 2}, user
    )
    received: list[bytes] = []

    async def listen() -> None:
        async for reply in client.subscribe(envelope):
            entries = pushed(reply)[1]
            if not entries:
                return
            received.extend(base64.b64decode(e["payload"]) for e in entries)

    listening = asyncio.create_task(listen())
    await asyncio.sleep(0.4)
    for i in range(3):
        await call(
            client, "channelappendmsg", executor, processid=pid, name="chat", sequence=i + 1,
            payload=list(f"m{i}".encode()),
        )  # fmt: skip
    await asyncio.wait_for(listening, 10)
    assert received == [b"m0", b"m1", b"m2"]
