"""The SDK and the CLI over gRPC, CoAP and LibP2P (docs/protocol.md §12.6): the transports
COLONIES_CLIENT_BACKENDS names, tried in order when the first cannot be reached; the CLI's
--backend; an executor over CoAP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

from colonies.cli.main import cli
from colonies.client import AsyncClient, ColoniesError, ConnectError
from colonies.config import ClientConfig
from colonies.core import Conditions, FunctionSpec, ProcessState
from colonies.crypto import PrivateKey
from colonies.executor import echo_executor
from colonies.p2p import new_identity, peer_id
from colonies.server.app import STATE_KEY
from tests.component.test_backends import BACKENDS, libp2p_multiaddr
from tests.helpers import Colony, RunningServer, make_colony, make_config, serving, start_server
from tests.support import free_port


@pytest.fixture
async def multi(db_url: str, server_key: PrivateKey) -> AsyncIterator[RunningServer]:
    config = make_config(
        db_url,
        server_key,
        backends=BACKENDS,
        grpc_port=free_port(),
        coap_port=free_port(),
        libp2p_port=free_port(),
    )
    async with serving(config) as server:
        yield server


def environment(server: RunningServer, backends: str, **extra: str) -> dict[str, str]:
    """Client settings for ``server``; a dead port for any backend named ``dead-...``."""
    env = {
        "COLONIES_SERVER_HOST": "127.0.0.1",
        "COLONIES_SERVER_PORT": str(server.port),
        "COLONIES_CLIENT_BACKENDS": backends,
        "COLONIES_CLIENT_GRPC_PORT": str(server.config.grpc_port),
        "COLONIES_CLIENT_COAP_PORT": str(server.config.coap_port),
        "COLONIES_CLIENT_LIBP2P_HOST": libp2p_multiaddr(server),
    }
    env.update(extra)
    return env


def served_by(server: RunningServer, payloadtype: str) -> dict[str, int]:
    """How many requests of ``payloadtype`` each backend answered (from the metrics)."""
    counts: dict[str, int] = {}
    for metric in server.app[STATE_KEY].metrics.rpc_requests.collect():
        for sample in metric.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels["payloadtype"] == payloadtype:
                counts[labels["backend"]] = counts.get(labels["backend"], 0) + int(sample.value)
    return counts


def dead_multiaddr() -> str:
    return f"/ip4/127.0.0.1/tcp/{free_port()}/p2p/{peer_id(new_identity())}"


@pytest.mark.parametrize("backend", ["grpc", "coap", "libp2p"])
async def test_from_env_over_one_backend(
    backend: str, multi: RunningServer, server_key: PrivateKey
):
    config = ClientConfig.from_env(environment(multi, backend))
    async with AsyncClient.from_env(config) as client:
        info = await client.server_info()
        assert [b.type for b in info.backends] == list(BACKENDS)
        colonies = await client.get_colonies(key=server_key)
        assert colonies == []
        assert await client.health() is True
    assert served_by(multi, "getcoloniesmsg") == {backend: 1}


@pytest.mark.parametrize(
    ("dead", "setting"),
    [
        ("grpc", {"COLONIES_CLIENT_GRPC_PORT": "0"}),
        ("coap", {"COLONIES_CLIENT_COAP_PORT": "0"}),
        ("libp2p", {"COLONIES_CLIENT_LIBP2P_HOST": "dead"}),
    ],
)
async def test_falls_back_when_the_first_backend_is_down(
    dead: str, setting: dict[str, str], multi: RunningServer, server_key: PrivateKey
):
    """Nothing listens on the first backend's port: each request goes over the next one."""
    env = environment(multi, f"{dead},http")
    for name, value in setting.items():
        env[name] = dead_multiaddr() if value == "dead" else str(free_port())
    config = ClientConfig.from_env(env)
    async with AsyncClient.from_env(config) as client:
        assert await client.get_colonies(key=server_key) == []
        with pytest.raises(ColoniesError) as refused:  # a subscription falls back too
            async for _ in client.rpc.subscribe(
                "subscribeprocessesmsg", server_key, colonyname="none", state=0, timeout=1
            ):
                pass
        assert refused.value.status in (403, 404)
    assert served_by(multi, "getcoloniesmsg") == {"http": 1}


async def test_a_refusal_is_not_sent_again_over_the_next_backend(
    multi: RunningServer, server_key: PrivateKey
):
    """Upstream's Go client resends a refused request over its next backend; the SDK moves
    on only when nothing was sent."""
    colony = await make_colony(multi.rpc, server_key)
    config = ClientConfig.from_env(environment(multi, "grpc,coap,http"))
    async with AsyncClient.from_env(config, retry_seconds=1) as client:
        with pytest.raises(ColoniesError) as refused:
            await client.get_processes(colony.name, key=server_key)  # not a member
    assert refused.value.status == 403
    assert served_by(multi, "getprocessesmsg") == {"grpc": 1}


@pytest.mark.parametrize("backend", ["grpc", "coap", "libp2p", "grpc,coap,libp2p"])
async def test_nothing_listening_is_a_connect_error(backend: str, multi: RunningServer):
    env = environment(
        multi,
        backend,
        COLONIES_CLIENT_GRPC_PORT=str(free_port()),
        COLONIES_CLIENT_COAP_PORT=str(free_port()),
        COLONIES_CLIENT_LIBP2P_HOST=dead_multiaddr(),
    )
    async with AsyncClient.from_env(ClientConfig.from_env(env), retry_seconds=0.5) as client:
        with pytest.raises(ConnectError):
            await asyncio.wait_for(client.version(), 60)


async def test_an_executor_over_coap(multi: RunningServer, server_key: PrivateKey):
    """An executor (the IoT case) polling, closing and logging over CoAP only."""
    from colonies.client import CoapTransport

    colony: Colony = await make_colony(multi.rpc, server_key)
    executor = echo_executor(
        "http://127.0.0.1:1",  # never used: everything goes over CoAP
        colony.executor,
        colony=colony.name,
        name=colony.executor_name,
        executortype=colony.executor_type,
        poll_timeout=2,
        transport=CoapTransport("127.0.0.1", multi.config.coap_port),
    )
    serving = asyncio.create_task(executor.serve())
    try:
        async with AsyncClient(multi.url, colony.user) as client:
            spec = FunctionSpec(
                funcname="echo", args=["over coap"], maxexectime=-1, maxwaittime=-1,
                maxretries=-1,
                conditions=Conditions(colonyname=colony.name, executortype=colony.executor_type),
            )  # fmt: skip
            submitted = await client.submit(spec)
            for _ in range(100):
                process = await client.get_process(submitted.processid)
                if process.state == ProcessState.SUCCESS:
                    break
                await asyncio.sleep(0.1)
            assert process.state == ProcessState.SUCCESS and process.output == ["over coap"]
    finally:
        executor.stop()
        await asyncio.wait_for(serving, 15)
    assert served_by(multi, "assignprocessmsg").keys() == {"coap"}
    # The toolkit closes on the fast path, which the server lists (docs/protocol.md §7.21).
    assert served_by(multi, "closeandassignmsg") == {"coap": 1}


def run_cli(env: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


async def test_cli_backend_option(multi: RunningServer, server_key: PrivateKey):
    env = {**environment(multi, "http"), "COLONIES_SERVER_PRVKEY": server_key.text}
    for backend in ("grpc", "coap", "libp2p"):
        result = await asyncio.to_thread(
            run_cli, env, "--backend", backend, "server", "stats", "-o", "json"
        )
        assert result.exit_code == 0, result.output
    assert served_by(multi, "getstatisticsmsg") == {"grpc": 1, "coap": 1, "libp2p": 1}
    result = await asyncio.to_thread(run_cli, env, "--backend", "smtp", "version")
    assert result.exit_code == 1 and "unknown backend 'smtp'" in result.output  # a usage error
    dead = {**env, "COLONIES_CLIENT_GRPC_PORT": str(free_port())}
    result = await asyncio.to_thread(run_cli, dead, "--backend", "grpc", "colony", "ls")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: cannot reach server at grpc://127.0.0.1:")
    assert "Traceback" not in result.output


async def test_libp2p_reaches_a_restarted_server_again(db_url: str, server_key: PrivateKey):
    """The server restarted under the same identity: the client's old connection is closed but
    still listed by py-libp2p, which would not dial again; the client drops it and reconnects."""
    from colonies.client import Libp2pTransport
    from colonies.rpc import sign_request

    config = make_config(
        db_url, server_key, backends=["http", "libp2p"], libp2p_port=free_port(),
        libp2p_identity=new_identity(),
    )  # fmt: skip
    runner, app = await start_server(config)
    transport = Libp2pTransport(
        [libp2p_multiaddr(RunningServer("", config.port, config, None, app))]
    )  # type: ignore[arg-type]
    version = sign_request("versionmsg", {}, None)
    try:
        assert (await transport.request(version, 10))[0] == 200
        await runner.cleanup()
        runner, app = await start_server(config)
        status, reply = await transport.request(version, 10)
        assert status == 200 and b'"error":false' in reply.replace(b" ", b""), reply
    finally:
        await transport.close()
        await runner.cleanup()
