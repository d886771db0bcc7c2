"""Structured fuzzing against a live server: every payload type's message, built field by field
from its declared type with hostile values (sizes beyond the limits, extreme integers, deep
nesting, unicode, U+0000, wrong JSON types), signed by a member of a real colony. Any 5xx or
any reply that is not an error envelope with the HTTP status fails; the only 5xx answers
allowed are the few the protocol itself gives, as upstream does (:data:`PROTOCOL_5XX`).

Fields that name things get the colony's real names and IDs half the time, so that requests
get past the scope and role checks into the handlers. :data:`EXAMPLES_PER_TYPE` messages per
payload type in ``make test``; ``make fuzz`` raises it with COLONIES_FUZZ_EXAMPLES.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec.inspect as mi
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colonies.client import AsyncRpc
from colonies.rpc.envelope import sign_request
from colonies.server.routes import registry
from tests.fuzz.test_decoding_properties import EXAMPLES
from tests.helpers import (
    TEMPLATE_DB,
    Colony,
    function_spec,
    make_colony,
    make_config,
    start_server,
)

# 25 per payload type by default (about 2,000 signed requests); `make fuzz` runs 625.
EXAMPLES_PER_TYPE = max(EXAMPLES // 8, 10)
fuzz = settings(
    max_examples=EXAMPLES_PER_TYPE,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)

# 5xx answers that are the protocol's own, kept as upstream gives them: an assign by a user
# (docs/protocol.md §4.2), a channel's limits (§7.12), an assign that may not wait while the
# colony is paused (§3.8).
PROTOCOL_5XX = {
    (500, "Failed to assign process, executor not found"),
    (500, "message payload exceeds maximum size"),
    (500, "rate limit exceeded"),
    (500, "channel log is full"),
    (503, "No processes available: colony assignments are paused"),
}

_BIG = "x" * (1024 * 1024 + 1)  # one more than any string limit
_HOSTILE_TEXT = [
    "",
    " ",
    "x" * 257,
    "/" * 1025,
    _BIG,
    "\x00",
    "a\x00b",
    "\U0001f600" * 300,
    "\u202eevil",
    "../../etc/passwd",
    "'; DROP TABLE colonies; --",
    "%s%n%x",
    "0" * 64,
    "Z" * 64,
    "null",
    "@every 99999999999h",
    "0 0 0 31 2 *",
]
_HOSTILE_INTS = [
    0, 1, -1, 2, 3, 4, 100, 101, -2, 50_000, 50_001, -50_001, 2**31 - 1, 2**31, -(2**31) - 1,
    158_112_001, 10**12, -(10**12), 2**63 - 1, -(2**63), 2**63, 10**30,
]  # fmt: skip
# Any text a client can send: UTF-8 (a lone surrogate cannot even be encoded).
_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _ANY_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_ANY_TEXT, inner, max_size=5),
    max_leaves=20,
)
_WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    _ANY_TEXT,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(_ANY_TEXT, st.integers(), max_size=2),
)


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


_FREE_FORM = st.one_of(
    _JSON,
    st.sampled_from([_deep(65), _deep(900), {"a\x00": 1}, ["\x00"], [1e308, -0.0, 10**30]]),
)


@dataclass
class World:
    """A live server with a colony and some of everything in it: the values fields may name."""

    url: str
    colony: Colony
    names: dict[str, list[Any]]


def _mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """``usual`` three times in four."""
    return st.one_of(usual, usual, usual, other)


_PLAIN_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_PLAIN_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(-1e9, 1e9) | _PLAIN_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_PLAIN_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _text(name: str, world: World, hostile: bool) -> st.SearchStrategy[Any]:
    other = st.one_of(st.sampled_from(_HOSTILE_TEXT), _ANY_TEXT) if hostile else _PLAIN_TEXT
    known = world.names.get(name.lower())
    return _mostly(st.sampled_from(known), other) if known else other


def _value(
    info: mi.Type, name: str, world: World, depth: int, hostile: bool
) -> st.SearchStrategy[Any]:
    """Values for a field of type ``info``. Hostile: mostly of that type and beyond its
    limits, sometimes of another JSON type altogether. Plain: of that type, within limits,
    random all the same (these reach the handlers)."""
    if isinstance(info, mi.Metadata):
        return _value(info.type, name, world, depth, hostile)
    if isinstance(info, mi.UnionType):
        members = [m for m in info.types if not isinstance(m, mi.NoneType)]
        return st.one_of(st.none(), *(_value(m, name, world, depth, hostile) for m in members))
    if isinstance(info, mi.StructType):
        return _struct(info, world, depth + 1, hostile) if depth < 4 else st.just({})
    known = world.names.get(name.lower())
    if isinstance(info, mi.StrType):
        typed: st.SearchStrategy[Any] = _text(name, world, hostile)
    elif isinstance(info, mi.IntType) and name == "timeout":
        # An assign waits as long as its timeout asks: short, or beyond the limit.
        typed = st.sampled_from([-1, 0, 1, 2**31, 2**63, -(2**63), 10**30] if hostile else [-1, 1])
    elif isinstance(info, mi.IntType):
        typed = st.sampled_from(_HOSTILE_INTS) if hostile else st.integers(-2, 120)
        typed = st.one_of(typed, st.integers(-1000, 1000))
        if known:
            typed = _mostly(st.sampled_from(known), typed)
    elif isinstance(info, mi.FloatType):
        typed = st.floats(allow_nan=False, allow_infinity=False)
    elif isinstance(info, mi.BoolType):
        typed = st.booleans()
    elif isinstance(info, mi.DateTimeType):
        times = ["0001-01-01T00:00:00Z", "2026-01-01T00:00:00.123456789+02:00"]
        bad = ["9999-12-31T23:59:59Z", "2026-01-01T00:00:00", "soon"]
        typed = st.sampled_from(times + bad if hostile else times)
    elif isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        item = _value(info.item_type, name, world, depth, hostile)
        typed = st.lists(item, max_size=3)
        if hostile:
            # One more item than any list limit, each a plain one: 1,001 copies of a hostile
            # item (a 1 MiB string, a list of them) would make one request of gigabytes.
            plain = _value(info.item_type, name, world, depth, False)
            typed = st.one_of(typed, st.builds(lambda v: [v] * 1001, plain), st.just([None]))
    elif isinstance(info, mi.DictType):
        value = _value(info.value_type, name, world, depth, hostile)
        typed = st.dictionaries(_text("", world, hostile), value, max_size=3)
    elif isinstance(info, mi.AnyType):
        typed = _FREE_FORM if hostile else _PLAIN_JSON
    else:
        typed = _JSON
    return _mostly(typed, _WRONG_TYPES) if hostile else typed


def _struct(
    info: mi.StructType, world: World, depth: int, hostile: bool
) -> st.SearchStrategy[dict[str, Any]]:
    """Each field present or not; those that name the world's things (and nested objects)
    always, so that a request reaches its handler more often than not."""
    required, optional = {}, {}
    for f in info.fields:
        if f.encode_name in ("msgtype", "nonce", "timestamp"):
            continue
        value = _value(f.type, f.encode_name, world, depth, hostile)
        named = f.encode_name.lower() in world.names or isinstance(f.type, mi.StructType)
        (required if named else optional)[f.encode_name] = value
    return st.fixed_dictionaries(required, optional=optional)  # type: ignore[arg-type]


async def _build_world(url: str, server_key: Any) -> World:
    async with AsyncRpc(url) as rpc:
        colony = await make_colony(rpc, server_key, name="fuzz")
        c = colony.name
        spec = function_spec(colony, nodename="a", channels=["ch"])
        process = await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
        running = await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
        await rpc.call("assignprocessmsg", colony.executor, colonyname=c, timeout=-1)
        graph = await rpc.call(
            "submitworkflowspecmsg", colony.user, spec={"colonyname": c, "functionspecs": [spec]}
        )
        workflow = json.dumps({"colonyname": c, "functionspecs": [spec]})
        cron = await rpc.call(
            "addcronmsg",
            colony.user,
            cron={"colonyname": c, "name": "cron", "interval": 60, "workflowspec": workflow},
        )
        generator = await rpc.call(
            "addgeneratormsg",
            colony.user,
            generator={"colonyname": c, "name": "gen", "trigger": 2, "workflowspec": workflow},
        )
    ids = [process["processid"], running["processid"]]
    names = {
        "colonyname": [c],
        "namespace": [c],
        "targetcolonyname": [c],
        "executorname": [colony.executor_name],
        "executortype": [colony.executor_type],
        "executorid": [colony.executor.id],
        "userid": [colony.user.id],
        "name": ["alice", "ch", "cron", "gen", "a"],
        "processid": ids,
        "parentprocessid": ids,
        "childprocessid": ids,
        "targetid": ids,
        "processgraphid": [graph["processgraphid"]],
        "cronid": [cron["cronid"]],
        "generatorid": [generator["generatorid"]],
        "generatorname": ["gen"],
        "workflowspec": [workflow],
        "state": [0, 1, 2, 3, 4, -1],
        "count": [1, 10, 100],
        "label": ["/data"],
    }
    return World(url, colony, names)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(pg: Any, server_key: Any) -> AsyncIterator[World]:
    name = "fuzz_" + uuid.uuid4().hex[:12]
    pg.create_database(name, template=TEMPLATE_DB)
    config = make_config(pg.dsn(name), server_key)
    runner, _ = await start_server(config)
    try:
        yield await _build_world(f"http://127.0.0.1:{config.port}", server_key)
    finally:
        await runner.cleanup()
        pg.drop_database(name)


# Subscriptions are served on /pubsub only (an RPC of one is refused before its payload).
PAYLOAD_TYPES = sorted(t for t, route in registry.routes.items() if not route.subscription)


_strategies: dict[tuple[str, bool], st.SearchStrategy[dict[str, Any]]] = {}


def _strategy(payloadtype: str, world: World, hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    if (payloadtype, hostile) not in _strategies:
        info = mi.type_info(registry.routes[payloadtype].msg_type)
        _strategies[payloadtype, hostile] = _struct(info, world, 0, hostile)  # type: ignore[arg-type]
    return _strategies[payloadtype, hostile]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("payloadtype", PAYLOAD_TYPES)
@fuzz
@given(data=st.data())
async def test_hostile_messages_get_a_4xx_envelope(
    world: World, payloadtype: str, data: st.DataObject
) -> None:
    hostile = data.draw(st.booleans(), label="hostile")
    payload = data.draw(_strategy(payloadtype, world, hostile), label="payload")
    key = data.draw(st.sampled_from([world.colony.user, world.colony.executor]), label="key")
    # The client's own fresh nonce, or now and then one that breaks the nonce's rules.
    bad_nonce = st.sampled_from(["n" * 257, "a\x00b", ""])
    nonce = data.draw(st.one_of(st.none(), bad_nonce) if hostile else st.none(), label="nonce")
    if nonce is not None:
        payload = {**payload, "nonce": nonce}
    body = sign_request(payloadtype, payload, key)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        async with session.post(world.url + "/api", data=body) as reply:
            status, raw = reply.status, await reply.read()
    envelope = json.loads(raw)  # always JSON
    inner = json.loads(base64.b64decode(envelope["payload"]))
    if status != 200:
        assert envelope["error"] is True and inner["status"] == status, (status, inner)
    assert status < 500 or (status, inner["message"]) in PROTOCOL_5XX, (status, inner)
