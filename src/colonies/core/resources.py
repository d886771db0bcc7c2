"""CPU and memory quantities of conditions and assign requests (docs/protocol.md §7.2)."""

from __future__ import annotations

import re

__all__ = ["ResourceError", "format_cpu", "format_mem", "parse_cpu", "parse_mem"]


class ResourceError(ValueError):
    """A memory or storage quantity without a valid unit."""


# Exactly upstream's units (case matters: "m" is not a memory unit).
_MEM_UNITS = {
    "Ki": 1024,
    "KiB": 1024,
    "Mi": 1024**2,
    "MiB": 1024**2,
    "Gi": 1024**3,
    "GiB": 1024**3,
    "TiB": 1024**4,
    "K": 1000,
    "KB": 1000,
    "Kb": 1000,
    "M": 1000**2,
    "MB": 1000**2,
    "Mb": 1000**2,
    "G": 1000**3,
    "GB": 1000**3,
    "Gb": 1000**3,
    "TB": 1000**4,
    "Tb": 1000**4,
}
_MEM = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")
_CPU = re.compile(r"^\s*(\d+)m\s*$")


def parse_cpu(text: str) -> int:
    """Millicores. Upstream rule: a string without the ``m`` suffix counts as 0."""
    match = _CPU.match(text)
    return int(match.group(1)) if match else 0


def parse_mem(text: str) -> int:
    """Bytes. Empty is 0; a non-empty string without a valid unit raises ResourceError."""
    if not text.strip():
        return 0
    match = _MEM.match(text)
    if match is None:
        raise ResourceError(f"invalid memory quantity {text!r}")
    unit = _MEM_UNITS.get(match.group(2))
    if unit is None:
        raise ResourceError(f"invalid memory unit in {text!r}")
    return int(match.group(1)) * unit


def format_cpu(millicores: int) -> str:
    return f"{millicores}m"


def format_mem(num_bytes: int) -> str:
    return f"{num_bytes // 2**20}Mi"
