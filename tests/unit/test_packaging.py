"""Packaging lists every directory of the package as a package, data directories included, so
building or installing it prints no "Package ... is absent from the packages configuration"
warning (a newcomer saw about forty of them for colonies.store.migrations)."""

from __future__ import annotations

import configparser
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def test_every_directory_with_files_is_a_listed_package() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options"]["packages"].strip() == "find_namespace:"
    found = set(find_namespace_packages(where=str(SRC), include=["colonies*"]))
    directories = {
        ".".join(path.relative_to(SRC).parts)
        for path in (SRC / "colonies").rglob("*")
        if path.is_dir() and path.name != "__pycache__" and any(p.is_file() for p in path.iterdir())
    }
    assert "colonies.store.migrations" in directories
    assert directories <= found, sorted(directories - found)
