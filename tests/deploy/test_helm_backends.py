"""The chart's transports beside HTTP (values: backends; docs/protocol.md §12): container ports,
the server's environment, the "-backends" Service with CoAP on UDP, and the LibP2P identity
from a Secret. (helm/examples/backends.yaml also goes through every check of
test_helm_chart.py: lint, kubernetes-validate, the restricted profile.)"""

from __future__ import annotations

from typing import Any

from .conftest import EXAMPLES, Helm, env_of, example_args, one


def services(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}


def server(docs: list[dict[str, Any]]) -> dict[str, Any]:
    containers = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = next(c for c in containers if c["name"] == "colonies")
    return found


def test_only_http_by_default(helm: Helm) -> None:
    docs = helm.render()
    assert "rel-colonies-backends" not in services(docs)
    assert [p["name"] for p in server(docs)["ports"]] == ["http"]
    assert "COLONIES_SERVER_BACKENDS" not in env_of(server(docs))


def test_the_example_serves_every_backend(helm: Helm) -> None:
    docs = helm.render(*example_args(EXAMPLES / "backends.yaml"))
    container = server(docs)
    assert container["ports"][1:] == [
        {"name": "grpc", "containerPort": 50051, "protocol": "TCP"},
        {"name": "coap", "containerPort": 5683, "protocol": "UDP"},
        {"name": "libp2p", "containerPort": 5000, "protocol": "TCP"},
    ]
    variables = env_of(container)
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
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert backends["spec"]["selector"] == selector


def test_one_backend_without_an_identity_secret(helm: Helm) -> None:
    docs = helm.render("--set", "backends.enabled={coap}")
    variables = env_of(server(docs))
    assert variables["COLONIES_SERVER_BACKENDS"]["value"] == "http,coap"
    assert "COLONIES_SERVER_LIBP2P_IDENTITY" not in variables
    ports = services(docs)["rel-colonies-backends"]["spec"]["ports"]
    assert [(p["name"], p["protocol"]) for p in ports] == [("coap", "UDP")]


def test_unknown_backend_is_refused(helm: Helm) -> None:
    error = helm.render_error("--set", "backends.enabled={grpc,quic}")
    assert "/backends/enabled/1" in error and "must be one of" in error
