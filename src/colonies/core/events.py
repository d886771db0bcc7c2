"""Process events as they travel between replicas (PROTOCOL.md §7.6, §7.19)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec


@dataclass(frozen=True, slots=True)
class ProcessEvent:
    """A process entered ``state``; routing keys only, the object stays in the database."""

    state: int
    processid: str
    colonyname: str
    executortype: str
    location: str  # lower case; "" matches every location


_decode = msgspec.json.Decoder(tuple[str, int, str, str, str, str]).decode


def parse_process_event(payload: str) -> ProcessEvent | None:
    """The NOTIFY payload ``["p", state, processid, colony, executortype, location]``."""
    try:
        kind, state, processid, colonyname, executortype, location = _decode(payload)
    except (msgspec.DecodeError, ValueError):
        return None
    if kind != "p":
        return None
    return ProcessEvent(state, processid, colonyname, executortype, location)
