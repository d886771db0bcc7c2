"""Small checks shared by handlers."""

from __future__ import annotations

from typing import TypeVar

from colonies.rpc import RpcError

T = TypeVar("T")

_HEX = frozenset("0123456789abcdef")


def require_id(value: str, action: str, what: str = "id") -> str:
    """A 64-hex ID (any case on input; stored lowercase)."""
    lowered = value.lower()
    if len(lowered) != 64 or not _HEX.issuperset(lowered):
        raise RpcError(400, f"{action}, invalid {what}: must be 64 hex characters")
    return lowered


def require_name(value: str, action: str, what: str = "name") -> str:
    if not value:
        raise RpcError(400, f"{action}, {what} must not be empty")
    return value


def found(obj: T | None, what: str) -> T:
    if obj is None:
        raise RpcError(404, f"{what} not found")
    return obj


def removed(ok: bool, what: str) -> None:
    if not ok:
        raise RpcError(404, f"{what} not found")
