"""The async SDK: one method per message of the protocol, typed results (the ``core`` objects).

``AsyncClient`` is assembled from one class per area, each in its own private module (server,
colonies, members, processes, workflows, schedules, logs, files, blueprints, channels,
security); every method says with ``@sends`` which payload type it sends, and
tests/unit/test_sdk_coverage.py holds that every payload type the server serves has one.

A client holds a default key; every method takes ``key=`` to sign with another one (the colony
owner's for executor approval, the server owner's for colonies, ...).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from colonies.client._base import ClientBase, KeyArg
from colonies.client._blueprints import BlueprintMethods
from colonies.client._channels import ChannelMethods
from colonies.client._colonies import ColonyMethods
from colonies.client._files import FileMethods
from colonies.client._logs import LogMethods
from colonies.client._members import MemberMethods
from colonies.client._processes import ProcessMethods
from colonies.client._rpc import AsyncRpc
from colonies.client._schedules import ScheduleMethods
from colonies.client._security import SecurityMethods
from colonies.client._server import ServerMethods
from colonies.client._transport import Transport
from colonies.client._workflows import WorkflowMethods
from colonies.config import ClientConfig
from colonies.crypto import parse_private_key

__all__ = ["AsyncClient", "KeyArg"]


class AsyncClient(
    ServerMethods,
    ColonyMethods,
    MemberMethods,
    ProcessMethods,
    WorkflowMethods,
    ScheduleMethods,
    LogMethods,
    FileMethods,
    BlueprintMethods,
    ChannelMethods,
    SecurityMethods,
    ClientBase,
):
    """``async with AsyncClient(url, key) as client: await client.get_colony("dev")``."""

    def __init__(
        self,
        url: str,
        key: KeyArg = None,
        *,
        ca_file: str = "",
        verify_tls: bool = True,
        retry_seconds: float = 15.0,
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
    ) -> None:
        """``transport``: how requests travel (client/_transport.py); by default HTTP to
        ``url`` (through ``session`` if given, trusting ``ca_file`` for ``https://``;
        ``verify_tls=False`` accepts any certificate, for tests only)."""
        self.rpc = AsyncRpc(
            url,
            session,
            ca_file=ca_file,
            verify_tls=verify_tls,
            retry_seconds=retry_seconds,
            transport=transport,
        )
        self.key = parse_private_key(key) if isinstance(key, str) else key
        self._channel_sequences = {}

    @classmethod
    def from_env(cls, config: ClientConfig | None = None, **kwargs: Any) -> AsyncClient:
        """A client of the COLONIES_* settings: the server, the key, the CA and the transports
        (COLONIES_CLIENT_BACKENDS, docs/protocol.md §12.6)."""
        from colonies.client._backends import transport_from_config

        config = config or ClientConfig.from_env()
        kwargs.setdefault("transport", transport_from_config(config))
        return cls(config.url, config.prvkey or None, ca_file=config.ca_file, **kwargs)

    async def close(self) -> None:
        await self.rpc.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
