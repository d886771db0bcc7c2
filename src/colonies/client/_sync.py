"""A thin synchronous facade: every coroutine method of AsyncClient, run on a private loop."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any

from colonies.client._client import AsyncClient
from colonies.config import ClientConfig


class Client:
    """``Client(url, key).get_colony("dev")`` — the AsyncClient API without ``await``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._async = AsyncClient(*args, **kwargs)

    @classmethod
    def from_env(cls, config: ClientConfig | None = None, **kwargs: Any) -> Client:
        from colonies.client._backends import transport_from_config

        config = config or ClientConfig.from_env()
        kwargs.setdefault("transport", transport_from_config(config))
        return cls(config.url, config.prvkey or None, ca_file=config.ca_file, **kwargs)

    @property
    def aio(self) -> AsyncClient:
        return self._async

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._async, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        def run(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(attr(*args, **kwargs))

        return run

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._async.close())
            self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
