"""The SDK covers the protocol: every payload type the server serves (its registry) has a
method of AsyncClient that sends it (declared with ``@sends``); each method really sends what
it declares (seen on a recording transport); the sync facade has every method and is fresh."""

from __future__ import annotations

import importlib.util
import inspect
import typing
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from types import ModuleType, UnionType
from typing import Any

import msgspec
import pytest

from colonies.client import AsyncClient, Client, ColoniesError, Transport
from colonies.client._base import SENDS, ClientBase
from colonies.core import Process
from colonies.crypto import generate_private_key
from colonies.rpc import decode_request, encode_error, encode_reply
from colonies.server.routes import registry

ROOT = Path(__file__).resolve().parents[2]


def sdk_methods() -> dict[str, Any]:
    """Every public method of AsyncClient's areas."""
    return {
        name: member
        for area in AsyncClient.__mro__
        if issubclass(area, ClientBase) and area not in (AsyncClient, ClientBase)
        for name, member in vars(area).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


def declared() -> dict[str, str]:
    """payloadtype -> the method that sends it."""
    found: dict[str, str] = {}
    for name, method in sdk_methods().items():
        for payloadtype in getattr(method, SENDS, ()):
            found[payloadtype] = name
    return found


def test_every_payload_type_has_a_method() -> None:
    served = set(registry.routes)
    covered = declared()
    missing = sorted(served - set(covered))
    assert not missing, f"payload types without an SDK method: {missing}"
    assert not set(covered) - served, "a method declares a payload type the server lacks"
    assert len(served) == 101  # the SDK's count: 101 of 101 (issue 17 started at 65)


class Recorder(Transport):
    """Records what is sent; answers ``getprocessmsg`` with a process (``wait`` needs one) and
    everything else with an error; subscriptions end at once."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        payloadtype = decode_request(envelope).payloadtype
        self.sent.append(payloadtype)
        if payloadtype == "getprocessmsg":
            body = msgspec.json.encode(msgspec.to_builtins(Process(processid="p")))
            return 200, encode_reply("getprocessmsg", body)
        return 400, encode_error(400, "recorded")

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        self.sent.append(decode_request(envelope).payloadtype)
        return
        yield b""  # an async generator that yields nothing

    async def health(self, timeout: float) -> bool:
        return True

    async def close(self) -> None:
        pass


def _sample(tp: Any) -> Any:
    """A value of the annotated type good enough to be sent."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, UnionType):
        return _sample(next(a for a in typing.get_args(tp) if a is not type(None)))
    if origin in (list, dict):
        return origin()
    if tp in (str, Any):
        return "x"
    if tp is bytes:
        return b"x"
    if tp in (int, float):
        return 1
    if tp is bool:
        return False
    return tp()  # a core object: its defaults


#: Keyword arguments a method checks before it sends anything, and short subscriptions.
_VALID: dict[str, dict[str, Any]] = {
    "add_cron": {"interval": 5},
    "subscribe_processes": {"timeout": 1.5},
    "subscribe_channel": {"timeout": 1.5},
}


async def _call(client: AsyncClient, name: str, method: Any) -> None:
    hints = typing.get_type_hints(method)
    params = list(inspect.signature(method).parameters.values())[1:]
    args = [_sample(hints[p.name]) for p in params if p.default is p.empty]
    result = getattr(client, name)(*args, **_VALID.get(name, {}))
    try:
        if inspect.isasyncgen(result) or isinstance(result, AsyncIterator):
            async for _ in result:
                pass
        else:
            await result
    except ColoniesError:
        pass  # the recorder's answer; what was sent is what counts


@pytest.mark.parametrize("name", sorted(sdk_methods()))
async def test_each_method_sends_what_it_declares(name: str) -> None:
    method = sdk_methods()[name]
    transport = Recorder()
    async with AsyncClient("http://unused", generate_private_key(), transport=transport,
                           retry_seconds=0) as client:  # fmt: skip
        await _call(client, name, method)
    wanted = list(getattr(method, SENDS, ()))
    if name == "wait":
        wanted = ["getprocessmsg", *wanted]  # it reads the process first
    if name == "health":
        assert transport.sent == []  # GET /health is no message
        return
    assert transport.sent[-len(wanted) :] == wanted and set(transport.sent) == set(wanted), (
        name,
        transport.sent,
    )


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_sync_client.py"
    spec = importlib.util.spec_from_file_location("_gen_sync_client", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sync_facade_is_fresh_and_complete() -> None:
    generator = _generator()
    assert generator.TARGET.read_text() == generator.render(), (
        "src/colonies/client/_sync_methods.py is stale: run python scripts/gen_sync_client.py "
        "--write"
    )
    for name, method in sdk_methods().items():
        sync = getattr(Client, name)
        assert not inspect.iscoroutinefunction(sync), name
        assert inspect.getdoc(sync) == inspect.getdoc(method), name


def test_every_method_has_a_docstring() -> None:
    undocumented = [name for name, method in sdk_methods().items() if not method.__doc__]
    assert not undocumented, undocumented
