"""The tests here run on asyncio's event loop and on uvloop's, which a replica runs on
(colonies/_aio.py): the HTTP front switches a transport's protocol, which each loop's
transports (plain and TLS) implement in their own way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    import uvloop

    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
