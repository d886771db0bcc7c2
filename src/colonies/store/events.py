"""The NOTIFY channel that carries events between replicas (docs/protocol.md §7.19): every
event kind's encoder beside the decoder.

An event is sent by the statement that makes it true (hence in its transaction), so listeners
on every replica hear of it once it is committed. Payloads carry routing keys only (NOTIFY
payloads are limited to 8000 bytes); listeners load objects from the database.

The encoders are SQL expressions for those statements, over the SQL expressions named by
their arguments; ``parse_event`` turns a payload back into a ``colonies.core.events`` event.
"""

from __future__ import annotations

import msgspec

from colonies.core.events import (
    AccessChangeEvent,
    ChannelEvent,
    Event,
    ProcessEvent,
    ResumeEvent,
)

EVENTS_CHANNEL = "colonies_events"


def process_event(row: str) -> str:
    """``["p", state, processid, colony, executortype, location]``: the process ``row`` (the
    alias of a row with those columns, ``location_lc`` for the location) entered its state."""
    return (
        f"pg_notify('{EVENTS_CHANNEL}', json_build_array('p', {row}.state, {row}.processid, "
        f"{row}.colonyname, {row}.executortype, {row}.location_lc)::text)"
    )


def resume_event(colonyname: str) -> str:
    """``["r", colony]``: assignments of the colony were resumed."""
    return f"pg_notify('{EVENTS_CHANNEL}', json_build_array('r', {colonyname})::text)"


def channel_event(channelid: str, position: str) -> str:
    """``["c", channelid, position]``: an entry was appended to the channel."""
    return (
        f"pg_notify('{EVENTS_CHANNEL}', json_build_array('c', {channelid}::text, {position})::text)"
    )


# ``["a"]``: colonies, executors or users changed. Sent by the trigger function
# notify_access_change() of migrations/006_access_events.sql, once per statement that changes
# one of those tables (a trigger lives in the schema, not in a statement).
ACCESS_CHANGE_EVENT = '["a"]'

_process = msgspec.json.Decoder(tuple[str, int, str, str, str, str]).decode
_resume = msgspec.json.Decoder(tuple[str, str]).decode
_channel = msgspec.json.Decoder(tuple[str, str, int]).decode


def parse_event(payload: str) -> Event | None:
    """The event of a payload sent by one of the encoders above; None for anything else."""
    try:
        if payload.startswith('["p"'):
            _, state, processid, colonyname, executortype, location = _process(payload)
            return ProcessEvent(state, processid, colonyname, executortype, location)
        if payload.startswith('["r"'):
            return ResumeEvent(_resume(payload)[1])
        if payload == ACCESS_CHANGE_EVENT:
            return AccessChangeEvent()
        if payload.startswith('["c"'):
            _, channelid, position = _channel(payload)
            return ChannelEvent(channelid, position)
    except (msgspec.DecodeError, ValueError):
        pass
    return None
