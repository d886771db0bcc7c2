"""A thin synchronous facade: every method of AsyncClient without ``await``, run on a private
event loop (the methods themselves: client/_sync_methods.py, generated from AsyncClient)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from colonies.client._base import KeyArg
from colonies.client._client import AsyncClient
from colonies.client._sync_methods import SyncMethods
from colonies.config import ClientConfig

T = TypeVar("T")


class Client(SyncMethods):
    """``Client(url, key).get_colony("dev")`` — the AsyncClient API without ``await``; its
    async iterators (``subscribe_processes``, ``subscribe_channel``) are plain iterators."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._async = AsyncClient(*args, **kwargs)

    @classmethod
    def from_env(cls, config: ClientConfig | None = None, **kwargs: Any) -> Client:
        """A client of the COLONIES_* settings: the server, the key, the CA and the transports
        (COLONIES_CLIENT_BACKENDS, docs/protocol.md §12.6)."""
        from colonies.client._backends import transport_from_config

        config = config or ClientConfig.from_env()
        kwargs.setdefault("transport", transport_from_config(config))
        return cls(config.url, config.prvkey or None, ca_file=config.ca_file, **kwargs)

    @property
    def aio(self) -> AsyncClient:
        """The async client underneath."""
        return self._async

    def call(self, payloadtype: str, key: KeyArg = None, /, **payload: Any) -> Any:
        """Send any message; the reply payload as plain JSON values."""
        return self._run(self._async.call(payloadtype, key, **payload))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coroutine)

    def _iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    item = self._loop.run_until_complete(anext(iterator))
                except StopAsyncIteration:
                    return
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None and not self._loop.is_closed():
                self._loop.run_until_complete(aclose())

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._async.close())
            self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
