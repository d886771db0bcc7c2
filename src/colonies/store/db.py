"""The connection pool and the Store facade with one attribute per aggregate."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from colonies.store.colonies import ColonyStore
from colonies.store.executors import ExecutorStore
from colonies.store.files import FileStore
from colonies.store.functions import FunctionStore
from colonies.store.locations import LocationStore
from colonies.store.processes import ProcessStore
from colonies.store.server import ServerStore
from colonies.store.users import UserStore

_encode_json = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder().decode


def _encode_jsonb(value: Any) -> str:
    return _encode_json(value).decode("utf-8")


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("jsonb", "json"):
        await conn.set_type_codec(
            typename, encoder=_encode_jsonb, decoder=_decode_json, schema="pg_catalog"
        )


async def connect(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    max_inactive_connection_lifetime: float = 60.0,
    command_timeout: float | None = None,
) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        max_inactive_connection_lifetime=max_inactive_connection_lifetime,
        command_timeout=command_timeout,
    )
    return pool


class Store:
    """Every aggregate's queries over one pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.server = ServerStore(pool)
        self.colonies = ColonyStore(pool)
        self.executors = ExecutorStore(pool)
        self.users = UserStore(pool)
        self.locations = LocationStore(pool)
        self.functions = FunctionStore(pool)
        self.files = FileStore(pool)
        self.processes = ProcessStore(pool)

    async def close(self) -> None:
        await self.pool.close()
