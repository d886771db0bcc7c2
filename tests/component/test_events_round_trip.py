"""Each event kind round-trips: encoded in SQL by store/events.py on the real database, heard
by a listener on another connection, decoded by parse_event into the event it stands for."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from colonies.core.events import AccessChangeEvent, ChannelEvent, ProcessEvent, ResumeEvent
from colonies.store.events import (
    ACCESS_CHANGE_EVENT,
    EVENTS_CHANNEL,
    channel_event,
    parse_event,
    process_event,
    resume_event,
)
from colonies.store.statements import Statement

# Names with characters JSON must escape, so the encoding is exercised, not just passed through.
ODD = 'a "quoted" \\ name, é ✓'

PROCESS = Statement(f"""
SELECT {process_event("r")}
  FROM (VALUES (:state::smallint, :processid::text, :colonyname::text, :executortype::text,
                :location_lc::text))
       AS r(state, processid, colonyname, executortype, location_lc)
""")

RESUME = Statement(f"SELECT {resume_event(':colonyname::text')}")

CHANNEL = Statement(f"SELECT {channel_event(':channelid', ':position::integer')}")


@pytest.fixture
async def heard(db_url):
    """The payloads heard on the events channel, and a connection to send from."""
    listener = await asyncpg.connect(db_url)
    sender = await asyncpg.connect(db_url)
    payloads: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(EVENTS_CHANNEL, lambda *args: payloads.put_nowait(args[3]))
    try:
        yield payloads, sender
    finally:
        await sender.close()
        await listener.close()


async def _next(payloads: asyncio.Queue[str]) -> str:
    return await asyncio.wait_for(payloads.get(), timeout=10)


@pytest.mark.parametrize("state", [0, 1, 2, 3, 4])
async def test_a_process_event_round_trips(heard, state):
    payloads, sender = heard
    await PROCESS.execute(
        sender,
        state=state,
        processid=ODD + "-p",
        colonyname=ODD + "-c",
        executortype="cli",
        location_lc="lab",
    )
    payload = await _next(payloads)
    assert payload.startswith('["p",')
    assert parse_event(payload) == ProcessEvent(state, ODD + "-p", ODD + "-c", "cli", "lab")


async def test_a_resume_event_round_trips(heard):
    payloads, sender = heard
    await RESUME.execute(sender, colonyname=ODD)
    assert parse_event(await _next(payloads)) == ResumeEvent(ODD)


async def test_a_channel_event_round_trips(heard):
    payloads, sender = heard
    await CHANNEL.execute(sender, channelid=ODD + "_chan", position=41)
    assert parse_event(await _next(payloads)) == ChannelEvent(ODD + "_chan", 41)


async def test_an_access_change_event_round_trips(heard):
    """Sent by migration 006's trigger on any change to colonies, executors or users."""
    payloads, sender = heard
    await sender.execute("INSERT INTO colonies (name, colonyid) VALUES ($1, repeat('a', 64))", ODD)
    payload = await _next(payloads)
    assert payload == ACCESS_CHANGE_EVENT
    assert parse_event(payload) == AccessChangeEvent()


async def test_the_statements_send_the_events_they_announce(heard):
    """The store's own statements use the encoders: a resume of a colony is heard as one."""
    from colonies.store.colonies import SET_PAUSED

    payloads, sender = heard
    await sender.execute("INSERT INTO colonies (name, colonyid) VALUES ('c', repeat('a', 64))")
    assert parse_event(await _next(payloads)) == AccessChangeEvent()
    await SET_PAUSED.execute(sender, name="c", paused=True)
    await SET_PAUSED.execute(sender, name="c", paused=False)
    heard_now = [parse_event(await _next(payloads)) for _ in range(3)]
    # A pause is announced by no event of its own; paused is an access field (migration 006).
    assert heard_now == [AccessChangeEvent(), ResumeEvent("c"), AccessChangeEvent()]
    assert payloads.empty()


@pytest.mark.parametrize(
    "payload",
    ['["p", 1, "x"]', '["c", "x", "not a position"]', '["r"]', '["z"]', "not json", '["a", 1]'],
)
def test_a_payload_of_no_known_kind_decodes_to_nothing(payload):
    assert parse_event(payload) is None
