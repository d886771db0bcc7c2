"""The reference pages say what the code does: the CLI and SDK references are generated from
the code (scripts/gen_reference.py) and must be fresh; the configuration reference must name
every environment variable the code reads."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PAGE = ROOT / "docs" / "reference" / "configuration.md"
# Where the product, its tests and its tools read variables.
CODE = [ROOT / d for d in ("src", "tests", "integration", "bench", "scripts", "helm")]
VARIABLE = re.compile(r"\b((?:COLONIES|AWS_S3)_[A-Z0-9_]*[A-Z0-9])\b")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_gen_reference", ROOT / "scripts" / "gen_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_and_sdk_references_are_fresh() -> None:
    generator = _generator()
    for page, render in generator.PAGES.items():
        assert page.read_text() == render(), (
            f"{page.relative_to(ROOT)} is stale: run python scripts/gen_reference.py --write"
        )


def test_the_cli_reference_has_every_command() -> None:
    text = (ROOT / "docs" / "reference" / "cli.md").read_text()
    for command in ("colonies workflow submit", "colonies cron add", "colonies config"):
        assert f"`{command}`" in text


def _variables_in_code() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in CODE:
        for path in top.rglob("*.py"):
            if path.name == Path(__file__).name:
                continue
            for name in VARIABLE.findall(path.read_text()):
                found.setdefault(name, path)
    for name in VARIABLE.findall((ROOT / "Makefile").read_text()):
        found.setdefault(name, ROOT / "Makefile")
    return found


def test_every_variable_the_code_reads_is_documented() -> None:
    documented = set(re.findall(r"`((?:COLONIES|AWS_S3)_[A-Z0-9_]+)`", CONFIG_PAGE.read_text()))
    missing = {name: str(path.relative_to(ROOT)) for name, path in _variables_in_code().items()
               if name not in documented}  # fmt: skip
    assert not missing, f"docs/reference/configuration.md lacks (name: where it is read) {missing}"


def test_the_scan_finds_the_variables_config_py_reads() -> None:
    """The check above can fail: it sees what src/colonies/config.py reads."""
    names = _variables_in_code()
    assert {"COLONIES_DB_URL", "COLONIES_PRVKEY", "AWS_S3_BUCKET"} <= set(names)
