"""The chart's ColonyFS part: a bundled SeaweedFS (off by default) or an external S3, published
to executors as a ConfigMap of AWS_S3_* settings plus the credentials Secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.test_helm_chart import (
    CHART,
    REQUIRED,
    Helm,
    helm,  # noqa: F401 (the session fixture)
    kubernetes_validate,
    one,
    render,
    render_error,
)

SECRET = ["--set", "colonyfs.s3.existingSecret=colonies-s3"]
BUNDLED = [*REQUIRED, *SECRET, "--set", "seaweedfs.enabled=true"]


@pytest.fixture
def chart(request: pytest.FixtureRequest) -> Helm:
    """The helm binary of test_helm_chart.py's session fixture."""
    helm_binary: Helm = request.getfixturevalue("helm")
    return helm_binary


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} {name}"
    return found[0]


def test_off_by_default(chart: Helm) -> None:
    docs = render(chart, *REQUIRED)
    names = [d["metadata"]["name"] for d in docs]
    assert not [n for n in names if "seaweedfs" in n or "colonyfs" in n]


def test_bundled_seaweedfs(chart: Helm, tmp_path: Path) -> None:
    docs = render(chart, *BUNDLED)
    settings = _named(docs, "ConfigMap", "rel-colonies-colonyfs")["data"]
    assert settings == {
        "AWS_S3_ENDPOINT": "rel-colonies-seaweedfs.colonies.svc.cluster.local:8333",
        "AWS_S3_BUCKET": "colonies",
        "AWS_S3_REGION": "",
        "AWS_S3_TLS": "false",
        "AWS_S3_SKIPVERIFY": "false",
    }
    service = _named(docs, "Service", "rel-colonies-seaweedfs")
    assert service["spec"]["ports"][0]["port"] == 8333
    statefulset = one(docs, "StatefulSet")
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    pod = statefulset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "chrislusf/seaweedfs:3.80"
    script = container["command"][-1]
    assert "-s3.config=/tmp/s3-identities.json" in script and "exec weed server" in script
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert refs == {
        "S3_ACCESS_KEY": {"name": "colonies-s3", "key": "accesskey"},
        "S3_SECRET_KEY": {"name": "colonies-s3", "key": "secretkey"},
    }
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    # The server pods themselves get no S3 settings: the bytes never pass through them.
    server = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert not [e for e in server.get("env", []) if e["name"].startswith("AWS_S3_")]

    throwaway = render(chart, *BUNDLED, "--set", "seaweedfs.persistence.enabled=false")
    statefulset = one(throwaway, "StatefulSet")
    assert "volumeClaimTemplates" not in statefulset["spec"]
    assert {"name": "data", "emptyDir": {}} in statefulset["spec"]["template"]["spec"]["volumes"]

    path = tmp_path / "bundled.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    proc = kubernetes_validate(path)
    assert proc.returncode == 0 and "ERROR" not in proc.stdout, proc.stdout + proc.stderr


def test_external_s3(chart: Helm) -> None:
    docs = render(
        chart, *REQUIRED, *SECRET,
        "--set", "colonyfs.s3.endpoint=s3.eu-north-1.amazonaws.com:443",
        "--set", "colonyfs.s3.tls=true", "--set", "colonyfs.s3.region=eu-north-1",
        "--set", "colonyfs.s3.bucket=my-colony-files",
    )  # fmt: skip
    settings = _named(docs, "ConfigMap", "rel-colonies-colonyfs")["data"]
    assert settings["AWS_S3_ENDPOINT"] == "s3.eu-north-1.amazonaws.com:443"
    assert (settings["AWS_S3_TLS"], settings["AWS_S3_REGION"]) == ("true", "eu-north-1")
    assert settings["AWS_S3_BUCKET"] == "my-colony-files"
    assert "StatefulSet" not in [d["kind"] for d in docs]


def test_lint_strict_with_seaweedfs(chart: Helm) -> None:
    proc = chart.run("lint", "--strict", str(CHART), *BUNDLED)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_inconsistent_colonyfs_values_fail(chart: Helm) -> None:
    both = render_error(chart, *BUNDLED, "--set", "colonyfs.s3.endpoint=minio:9000")
    assert "exclude each other" in both
    no_secret = render_error(chart, *REQUIRED, "--set", "seaweedfs.enabled=true")
    assert "colonyfs.s3.existingSecret" in no_secret
    scheme = render_error(chart, *REQUIRED, *SECRET, "--set", "colonyfs.s3.endpoint=http://x:9000")
    assert "endpoint" in scheme
