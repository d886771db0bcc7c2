"""helm/colonies/README.md is generated from the values comments (scripts/chart_readme.py) and
must be current; every value must be documented."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import CHART, ROOT


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "chart_readme", ROOT / "scripts" / "chart_readme.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chart_readme"] = module
    spec.loader.exec_module(module)
    return module


def test_readme_is_current() -> None:
    expected = _generator().render()
    assert (CHART / "README.md").read_text() == expected, (
        "helm/colonies/README.md is not current: run python scripts/chart_readme.py"
    )


def test_every_value_is_in_the_readme() -> None:
    readme = (CHART / "README.md").read_text()
    for key in ("`replicaCount`", "`etcd.bundled.replicas`", "`postgresql.maxConnections`",
                "`drain.seconds`", "`image.digest`", "`config.dbMaxOpenConns`"):  # fmt: skip
        assert key in readme


def test_an_undocumented_value_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _generator()
    chart = tmp_path / "colonies"
    chart.mkdir()
    (chart / "Chart.yaml").write_text((CHART / "Chart.yaml").read_text())
    (chart / "values.yaml").write_text(
        "# -- Documented.\nreplicaCount: 3\nsecret:\n  # -- Documented too.\n  a: 1\n  b: 2\n"
    )
    monkeypatch.setattr(generator, "CHART", chart)
    with pytest.raises(SystemExit, match=r"values without a '# --' comment: secret\.b"):
        generator.render()
