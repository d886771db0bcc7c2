"""Small checks shared by handlers."""

from __future__ import annotations

from typing import TypeVar

from colonies.core.scheduling import MAX_COUNT
from colonies.core.states import ProcessState
from colonies.rpc import RpcError

T = TypeVar("T")

_HEX = frozenset("0123456789abcdef")

# The states a process or a graph can be in (NOTSET, in a request, means "every state").
STATES = frozenset(ProcessState) - {ProcessState.NOTSET}


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


def check_count(count: int, limit: int = MAX_COUNT) -> int:
    """A list request's ``count``: at most the limit (upstream's text), never negative."""
    if count > limit:
        raise RpcError(400, f"Count is larger than MaxCount limit <{limit}>")
    if count < 0:
        raise RpcError(400, "count must not be negative")
    return count


def check_remove_all_state(state: int, what: str) -> int:
    """``removeall*``: NOTSET (every state) or a finished or waiting state, never RUNNING."""
    if state == ProcessState.RUNNING:
        raise RpcError(400, f"Not possible to remove running {what}")
    if state != ProcessState.NOTSET and state not in STATES:
        raise RpcError(400, f"Failed to remove all {what}, invalid state")
    return state
