"""Events as they travel between replicas (docs/protocol.md §7.6, §7.19); store/events.py
encodes and decodes them."""

from __future__ import annotations

from dataclasses import dataclass


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
