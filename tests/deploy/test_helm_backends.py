"""The chart's transports beside HTTP (values: backends; docs/protocol.md §12): container ports,
the server's environment, the "-backends" Service with CoAP on UDP, and the LibP2P identity
from a Secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.deploy.test_helm_chart import (
    REQUIRED,
    Helm,
    container,
    env,
    helm,  # noqa: F401 (the session fixture)
    kubernetes_validate,
    one,
    render,
    render_error,
)

ALL = [
    *REQUIRED,
    "--set", "backends.enabled={grpc,coap,libp2p}",
    "--set", "backends.libp2p.identity.existingSecret=colonies-libp2p",
    "--set", "backends.libp2p.announceAddrs={/dns4/colonies.example.com/tcp/5000}",
    "--set", "backends.service.type=LoadBalancer",
]  # fmt: skip


def services(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}


def test_only_http_by_default(helm: Helm) -> None:  # noqa: F811
    docs = render(helm, *REQUIRED)
    assert list(services(docs)) == ["rel-colonies"]
    server = container(one(docs, "Deployment"))
    assert [p["name"] for p in server["ports"]] == ["http"]
    assert not any(name.startswith("COLONIES_SERVER_BACKENDS") for name in env(server))


def test_all_backends(helm: Helm, tmp_path: Path) -> None:  # noqa: F811
    docs = render(helm, *ALL)
    server = container(one(docs, "Deployment"))
    assert server["ports"] == [
        {"name": "http", "containerPort": 50080, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 50051, "protocol": "TCP"},
        {"name": "coap", "containerPort": 5683, "protocol": "UDP"},
        {"name": "libp2p", "containerPort": 5000, "protocol": "TCP"},
    ]
    variables = env(server)
    assert variables["COLONIES_SERVER_BACKENDS"]["value"] == "http,grpc,coap,libp2p"
    assert variables["COLONIES_SERVER_GRPC_PORT"]["value"] == "50051"
    assert variables["COLONIES_SERVER_COAP_PORT"]["value"] == "5683"
    assert variables["COLONIES_SERVER_LIBP2P_PORT"]["value"] == "5000"
    assert variables["COLONIES_SERVER_LIBP2P_IDENTITY"]["valueFrom"] == {
        "secretKeyRef": {"name": "colonies-libp2p", "key": "identity"}
    }
    assert (
        variables["COLONIES_SERVER_LIBP2P_ANNOUNCE_ADDRS"]["value"]
        == "/dns4/colonies.example.com/tcp/5000"
    )
    backends = services(docs)["rel-colonies-backends"]
    assert backends["spec"]["type"] == "LoadBalancer"
    assert backends["spec"]["ports"] == [
        {"name": "grpc", "port": 50051, "targetPort": "grpc", "protocol": "TCP"},
        {"name": "coap", "port": 5683, "targetPort": "coap", "protocol": "UDP"},
        {"name": "libp2p", "port": 5000, "targetPort": "libp2p", "protocol": "TCP"},
    ]
    assert (
        backends["spec"]["selector"] == one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    )
    rendered = tmp_path / "all.yaml"
    rendered.write_text(yaml.safe_dump_all(docs))
    proc = kubernetes_validate(rendered)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_one_backend_without_identity_secret(helm: Helm) -> None:  # noqa: F811
    docs = render(helm, *REQUIRED, "--set", "backends.enabled={coap}")
    variables = env(container(one(docs, "Deployment")))
    assert variables["COLONIES_SERVER_BACKENDS"]["value"] == "http,coap"
    assert "COLONIES_SERVER_LIBP2P_IDENTITY" not in variables
    ports = services(docs)["rel-colonies-backends"]["spec"]["ports"]
    assert [(p["name"], p["protocol"]) for p in ports] == [("coap", "UDP")]


def test_unknown_backend_fails(helm: Helm) -> None:  # noqa: F811
    error = render_error(helm, *REQUIRED, "--set", "backends.enabled={grpc,quic}")
    assert 'unknown backend "quic"' in error
