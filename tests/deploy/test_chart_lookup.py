"""The generated server owner key and PostgreSQL password are kept across upgrades: the chart reads
them back with ``lookup``. No Kubernetes API server runs here, so helm talks to a stand-in that
serves only what ``helm template --dry-run=server`` asks for (the version, API discovery, and GET
of Secrets); the Secrets it holds play the ones an earlier install created.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CHART, Helm, one

_GROUPS = {
    "v1": [
        ("secrets", "Secret"),
        ("configmaps", "ConfigMap"),
        ("services", "Service"),
        ("serviceaccounts", "ServiceAccount"),
        ("pods", "Pod"),
    ],
    "apps/v1": [("deployments", "Deployment"), ("statefulsets", "StatefulSet")],
    "batch/v1": [("jobs", "Job")],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget")],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy"), ("ingresses", "Ingress")],
}


class _Api(BaseHTTPRequestHandler):
    secrets: dict[str, dict[str, str]] = {}

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _resources(group_version: str) -> dict[str, Any]:
        return {
            "kind": "APIResourceList",
            "groupVersion": group_version,
            "resources": [
                {"name": name, "singularName": "", "namespaced": True, "kind": kind,
                 "verbs": ["get", "list", "create", "update", "patch", "delete"]}
                for name, kind in _GROUPS[group_version]
            ],
        }  # fmt: skip

    def do_GET(self) -> None:
        path = self.path.split("?")[0].strip("/")
        parts = path.split("/")
        if path == "version":
            self._reply(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"})
        elif path == "api":
            self._reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        elif path == "apis":
            groups = [
                {"name": gv.split("/")[0], "versions": [{"groupVersion": gv,
                 "version": gv.split("/")[1]}], "preferredVersion": {"groupVersion": gv,
                 "version": gv.split("/")[1]}}
                for gv in _GROUPS if "/" in gv
            ]  # fmt: skip
            self._reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        elif path == "api/v1":
            self._reply(200, self._resources("v1"))
        elif parts[0] == "apis" and "/".join(parts[1:]) in _GROUPS:
            self._reply(200, self._resources("/".join(parts[1:])))
        elif parts[:2] == ["api", "v1"] and len(parts) == 6 and parts[4] == "secrets":
            name, namespace = parts[5], parts[3]
            if name not in self.secrets:
                self._reply(404, {"kind": "Status", "status": "Failure", "code": 404})
                return
            metadata = {
                "name": name,
                "namespace": namespace,
                # What Helm wrote at the earlier install: this release owns them.
                "labels": {"app.kubernetes.io/managed-by": "Helm"},
                "annotations": {
                    "meta.helm.sh/release-name": "rel",
                    "meta.helm.sh/release-namespace": namespace,
                },
            }
            secret = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}
            self._reply(200, {**secret, "data": self.secrets[name]})
        else:
            self._reply(404, {"kind": "Status", "status": "Failure", "code": 404})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Path, type[_Api]]]:
    handler = type("Api", (_Api,), {"secrets": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    try:
        yield kubeconfig, handler
    finally:
        server.shutdown()
        server.server_close()


def _render(helm: Helm, kubeconfig: Path) -> list[dict[str, Any]]:
    proc = helm.run(
        "template", "rel", str(CHART), "--namespace", "colonies",
        "--dry-run=server", "--disable-openapi-validation",
        env={"KUBECONFIG": str(kubeconfig)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def _value(docs: list[dict[str, Any]], name: str, key: str) -> str:
    return base64.b64decode(one(docs, "Secret", name)["data"][key]).decode()


def test_generated_secrets_are_kept(helm: Helm, api: tuple[Path, type[_Api]]) -> None:
    kubeconfig, handler = api
    # A first install: nothing in the cluster yet, so both are generated (and differ per render).
    first = _render(helm, kubeconfig)
    again = _render(helm, kubeconfig)
    key = _value(first, "rel-colonies-server-key", "prvkey")
    password = _value(first, "rel-colonies-postgresql", "password")
    assert key != _value(again, "rel-colonies-server-key", "prvkey")
    assert password != _value(again, "rel-colonies-postgresql", "password")

    # An upgrade: the Secrets of the install exist; the render reuses their values.
    handler.secrets = {
        "rel-colonies-server-key": {"prvkey": base64.b64encode(key.encode()).decode()},
        "rel-colonies-postgresql": {"password": base64.b64encode(password.encode()).decode()},
    }
    for _ in range(2):
        upgrade = _render(helm, kubeconfig)
        assert _value(upgrade, "rel-colonies-server-key", "prvkey") == key
        assert _value(upgrade, "rel-colonies-postgresql", "password") == password
