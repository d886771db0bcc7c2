"""Process events as they travel between replicas (docs/protocol.md §7.6, §7.19)."""

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


@dataclass(frozen=True, slots=True)
class ResumeEvent:
    """Assignments of a colony were resumed: paused long polls re-check."""

    colonyname: str


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """An entry was appended to a channel at ``position``."""

    channelid: str
    position: int


@dataclass(frozen=True, slots=True)
class AccessChangeEvent:
    """Colonies, executors or users changed: cached authorization look-ups are stale."""


Event = ProcessEvent | ResumeEvent | ChannelEvent | AccessChangeEvent

_process = msgspec.json.Decoder(tuple[str, int, str, str, str, str]).decode
_resume = msgspec.json.Decoder(tuple[str, str]).decode
_channel = msgspec.json.Decoder(tuple[str, str, int]).decode


def parse_event(payload: str) -> Event | None:
    """``["p", state, processid, colony, executortype, location]``, ``["r", colony]`` or
    ``["c", channelid, position]``."""
    try:
        if payload.startswith('["p"'):
            _, state, processid, colonyname, executortype, location = _process(payload)
            return ProcessEvent(state, processid, colonyname, executortype, location)
        if payload.startswith('["r"'):
            return ResumeEvent(_resume(payload)[1])
        if payload == '["a"]':
            return AccessChangeEvent()
        if payload.startswith('["c"'):
            _, channelid, position = _channel(payload)
            return ChannelEvent(channelid, position)
    except (msgspec.DecodeError, ValueError):
        pass
    return None
