"""Backend settings (src/colonies/config.py) and the LibP2P helpers that need no network
(colonies.p2p; docs/protocol.md §12.3)."""

from __future__ import annotations

import json

import pytest

from colonies.config import ConfigError, ServerConfig, parse_backends
from colonies.p2p import JsonValueEnd, check_identity, new_identity, peer_id

DB = {"COLONIES_DB_URL": "postgresql://x@127.0.0.1/x"}
# upstream's example identity and the peer ID its v1.9.4 server reported for it
UPSTREAM_IDENTITY = (
    "080112407412d2308a3c08439776c236d0c8927bac61acf49bdf4ec1469a5f9ffe187d99f34274f714fea61"
    "21a6caccf1c83ef403f14dc3028bd473b7b1e8230985dacb0"
)
UPSTREAM_PEER_ID = "12D3KooWSBx1mxbu7rJ8AMsSGHDhG8GRhwqHSVnHPbhZypPLFjgK"


def test_backend_names_and_aliases() -> None:
    assert parse_backends("X", "") == ("http",)
    assert parse_backends("X", " gin, GRPC ,p2p,coap,http ") == ("http", "grpc", "libp2p", "coap")
    with pytest.raises(ConfigError, match="unknown backend 'quic'"):
        parse_backends("COLONIES_SERVER_BACKENDS", "http,quic")


def test_server_backend_settings() -> None:
    config = ServerConfig.from_env(DB)
    assert config.backends == ("http",)
    assert (config.grpc_port, config.coap_port, config.libp2p_port) == (50051, 5683, 5000)
    config = ServerConfig.from_env(
        {
            **DB,
            "COLONIES_SERVER_BACKENDS": "http,grpc,coap,libp2p",
            "COLONIES_SERVER_GRPC_PORT": "6001",
            "COLONIES_SERVER_COAP_PORT": "6002",
            "COLONIES_LIBP2P_PORT": "6003",  # upstream's older name
            "COLONIES_TLSCERT": "/c.pem",
            "COLONIES_TLSKEY": "/k.pem",
            "COLONIES_SERVER_LIBP2P_IDENTITY": UPSTREAM_IDENTITY,
            "COLONIES_SERVER_LIBP2P_ANNOUNCE_ADDRS": "/ip4/10.0.0.5/tcp/6003, /dns4/x/tcp/6003",
        }
    )
    assert config.backends == ("http", "grpc", "coap", "libp2p")
    assert (config.grpc_port, config.coap_port, config.libp2p_port) == (6001, 6002, 6003)
    assert (config.grpc_tls_cert, config.grpc_tls_key) == ("/c.pem", "/k.pem")  # HTTP's pair
    assert config.libp2p_announce_addrs == ("/ip4/10.0.0.5/tcp/6003", "/dns4/x/tcp/6003")
    assert UPSTREAM_IDENTITY not in repr(config)  # a private key


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COLONIES_SERVER_BACKENDS": "grpc,smtp"}, "unknown backend 'smtp'"),
        ({"COLONIES_SERVER_GRPC_PORT": "70000"}, "COLONIES_SERVER_GRPC_PORT must be a port"),
        ({"COLONIES_SERVER_COAP_PORT": "udp"}, "COLONIES_SERVER_COAP_PORT must be an integer"),
        ({"COLONIES_SERVER_GRPC_TLS_CERT": "/c.pem"}, "must be set together"),
        ({"COLONIES_SERVER_LIBP2P_IDENTITY": "zz"}, "not hexadecimal"),
        ({"COLONIES_SERVER_LIBP2P_IDENTITY": "0801" * 17}, "marshalled Ed25519"),
        (
            {"COLONIES_SERVER_LIBP2P_IDENTITY": UPSTREAM_IDENTITY[:-2] + "00"},
            "public half does not match",
        ),
    ],
)
def test_bad_backend_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerConfig.from_env({**DB, **env})


def test_identity_in_upstreams_format() -> None:
    check_identity(UPSTREAM_IDENTITY)
    assert peer_id(UPSTREAM_IDENTITY) == UPSTREAM_PEER_ID
    fresh = new_identity()
    check_identity(fresh)
    assert fresh.startswith("08011240") and len(fresh) == 136
    assert peer_id(fresh).startswith("12D3KooW") and peer_id(fresh) != UPSTREAM_PEER_ID


def end_of_value(data: bytes, chunk: int) -> int | None:
    scanner = JsonValueEnd()
    for start in range(0, len(data), chunk):
        end = scanner.feed(data[start : start + chunk])
        if end is not None:
            return start + end
    return None


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 100_000])
def test_end_of_one_json_value(chunk: int) -> None:
    value = json.dumps({"a": 'q"}\\', "b": [1, {"c": "\\\\"}], "d": "]}"}).encode()
    assert end_of_value(b" \n" + value + b'{"next": 1}', chunk) == len(value) + 2
    assert end_of_value(value[:-1], chunk) is None  # not complete yet
    assert end_of_value(b"  nope", chunk) == 3  # not a JSON object: ends at once


def test_dialable_addresses_replace_wildcards() -> None:
    from multiaddr import Multiaddr

    from colonies.p2p.host import dialable

    addrs = [str(a) for a in dialable([Multiaddr("/ip4/0.0.0.0/tcp/5000")])]
    assert addrs and all("/0.0.0.0/" not in a and a.endswith("/tcp/5000") for a in addrs)
    kept = [str(a) for a in dialable([Multiaddr("/ip4/127.0.0.1/tcp/5001")])]
    assert kept == ["/ip4/127.0.0.1/tcp/5001"]


def test_cli_makes_a_libp2p_identity() -> None:
    from click.testing import CliRunner

    from colonies.cli.main import cli

    result = CliRunner().invoke(cli, ["security", "libp2p-identity"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.splitlines())
    check_identity(lines["Identity"])
    assert lines["PeerId"] == peer_id(lines["Identity"])


PEER = f"/ip4/127.0.0.1/tcp/5000/p2p/{UPSTREAM_PEER_ID}"


def test_client_backend_settings() -> None:
    from colonies.config import ClientConfig

    config = ClientConfig.from_env({})
    assert config.backends == ("http",) and config.url == "http://localhost:50080"
    config = ClientConfig.from_env(
        {
            "COLONIES_SERVER_HOST": "server",
            "COLONIES_CLIENT_BACKENDS": "p2p, grpc, coap, gin",
            "COLONIES_SERVER_GRPC_PORT": "6001",
            "COLONIES_CLIENT_COAP_HOST": "coap-gw",
            "COLONIES_CLIENT_HTTP_PORT": "6080",
            "COLONIES_CLIENT_LIBP2P_HOST": "dht",
            "COLONIES_LIBP2P_BOOTSTRAP_PEERS": f"{PEER}, {PEER}",
            "COLONIES_TLS": "true",
        }
    )
    assert config.backends == ("libp2p", "grpc", "coap", "http")
    assert (config.grpc_host, config.grpc_port, config.grpc_tls) == ("server", 6001, True)
    assert (config.coap_host, config.coap_port) == ("coap-gw", 5683)
    assert config.url == "https://server:6080"
    assert config.libp2p_peers == (PEER, PEER)  # dht: the bootstrap peers, in order
    assert config.endpoint("grpc") == "grpc://server:6001" and config.endpoint("libp2p") == PEER
    direct = ClientConfig.from_env(
        {"COLONIES_CLIENT_LIBP2P_HOST": PEER, "COLONIES_CLIENT_GRPC_INSECURE": "true"}
    )
    assert direct.libp2p_peers == (PEER,) and direct.grpc_tls is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COLONIES_CLIENT_BACKENDS": "http,ws"}, "unknown backend 'ws'"),
        ({"COLONIES_CLIENT_BACKENDS": "libp2p"}, "set COLONIES_CLIENT_LIBP2P_HOST"),
        ({"COLONIES_CLIENT_LIBP2P_HOST": "/ip4/1.2.3.4/tcp/5000"}, "not a full multiaddr"),
        ({"COLONIES_CLIENT_GRPC_PORT": "-1"}, "must be a port"),
    ],
)
def test_bad_client_backend_settings(env: dict[str, str], message: str) -> None:
    from colonies.config import ClientConfig

    with pytest.raises(ConfigError, match=message):
        ClientConfig.from_env(env)


def test_a_transport_per_backend_and_a_chain_for_several() -> None:
    from colonies.client import FallbackTransport, transport_from_config
    from colonies.config import ClientConfig

    assert transport_from_config(ClientConfig.from_env({})) is None  # HTTP, the default
    one = transport_from_config(ClientConfig.from_env({"COLONIES_CLIENT_BACKENDS": "coap"}))
    assert repr(one) == "coap://localhost:5683"
    chain = transport_from_config(
        ClientConfig.from_env(
            {"COLONIES_CLIENT_BACKENDS": "grpc,libp2p,http", "COLONIES_CLIENT_LIBP2P_HOST": PEER}
        )
    )
    assert isinstance(chain, FallbackTransport)
    assert [repr(t).split(" ")[0] for t in chain.transports] == [
        "grpc://localhost:50051",
        "libp2p",
        "<colonies.client._http.HttpTransport",
    ]
