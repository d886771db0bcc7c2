"""The connection pool and the Store facade with one attribute per aggregate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import asyncpg
import msgspec

from colonies.crypto import new_random_id
from colonies.store.blueprints import BlueprintStore
from colonies.store.channels import ChannelStore
from colonies.store.colonies import ColonyStore
from colonies.store.executors import ExecutorStore
from colonies.store.files import FileStore
from colonies.store.functions import FunctionStore
from colonies.store.locations import LocationStore
from colonies.store.nonces import NonceStore
from colonies.store.processes import (
    Attributes,
    Claims,
    Closes,
    Handovers,
    Logs,
    ProcessReads,
    Submissions,
)
from colonies.store.processgraphs import ProcessGraphStore
from colonies.store.schedules import ScheduleStore
from colonies.store.server import ServerStore
from colonies.store.ticks import TickStore
from colonies.store.users import UserStore

_encode_json = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder().decode


def _encode_jsonb(value: Any) -> str:
    return _encode_json(value).decode("utf-8")


# timestamptz on the wire of PostgreSQL: microseconds since 2000-01-01 UTC. asyncpg's own codec
# turns Go's zero time (year 1, our "unset") into -infinity and back into a naive datetime, so
# we convert ourselves: year 1 stays year 1, always in UTC.
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_PG_INFINITY = 2**63 - 1


def _encode_timestamptz(value: datetime) -> tuple[int]:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - _PG_EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds,)


def _decode_timestamptz(value: tuple[int]) -> datetime:
    micros = value[0]
    if micros >= _PG_INFINITY:
        return datetime.max.replace(tzinfo=timezone.utc)
    if micros <= -_PG_INFINITY:
        return datetime.min.replace(tzinfo=timezone.utc)
    return _PG_EPOCH + timedelta(microseconds=micros)


async def init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("jsonb", "json"):
        await conn.set_type_codec(
            typename, encoder=_encode_jsonb, decoder=_decode_json, schema="pg_catalog"
        )
    await conn.set_type_codec(
        "timestamptz",
        encoder=_encode_timestamptz,
        decoder=_decode_timestamptz,
        schema="pg_catalog",
        format="tuple",
    )


# The server's connections go to a host that accepts writes: of several hosts in the URL, the
# first that does (whatever target_session_attrs the URL gives); a lone read-only host is
# refused, so a replica on it is unready (/ready: "read-only") rather than failing every write.
WRITABLE = "read-write"


def read_only(conn: asyncpg.Connection) -> bool:
    """Whether the server of ``conn`` said it accepts no writes: a standby (``in_hot_standby``)
    or a server made read-only (``default_transaction_read_only``). PostgreSQL 14 and later
    report both on every change, so this costs no round trip; it is current as of the last
    reply (a reload is reported with the reply to the next statement)."""
    settings = conn.get_settings()
    return (
        getattr(settings, "in_hot_standby", "off") == "on"
        or getattr(settings, "default_transaction_read_only", "off") == "on"
    )


def no_writable_host(exc: BaseException) -> bool:
    """Whether connecting failed because no host of the URL accepts writes."""
    return isinstance(exc, asyncpg.TargetServerAttributeNotMatched)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The reset on release: only a transaction left open is rolled back. asyncpg's default
    (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) costs a round trip per query, and no pooled
    connection keeps session state: LISTEN and the leader's lock use dedicated connections,
    migrations unlock what they lock."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def connect(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    max_inactive_connection_lifetime: float = 60.0,
    command_timeout: float | None = None,
    connect_timeout: float = 10.0,
    idle_in_transaction_timeout: float | None = None,
    backend_pids: set[int] | None = None,
) -> asyncpg.Pool:
    """A pool whose connections have our codecs; ``backend_pids`` collects the PostgreSQL
    backend of each connection (to tell our own NOTIFYs from other replicas').

    ``dsn`` may list several hosts (``postgresql://u@pg-a:5432,pg-b:5432/db?
    target_session_attrs=read-write``): each new connection goes to the first that accepts
    writes. Connections to a server that went away are closed by the driver and replaced on
    the next acquire; a connection whose server turned read-only (a standby, a demoted or
    fenced primary) makes the pool replace every connection, so the next ones go where writes
    are accepted. ``idle_in_transaction_timeout`` (seconds): the server ends a session whose
    transaction waits on us longer, so that a frozen replica (SIGSTOP, a paused VM) does not
    hold row locks, such as the leader term's, until TCP keepalive notices."""

    async def init(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        if backend_pids is not None:
            pid = conn.get_server_pid()
            backend_pids.add(pid)
            conn.add_termination_listener(lambda _conn: backend_pids.discard(pid))

    async def reset(conn: asyncpg.Connection) -> None:
        await _keep_session(conn)
        if read_only(conn):
            await pool.expire_connections()  # each is closed on release, replaced on acquire

    server_settings = {}
    if idle_in_transaction_timeout:
        server_settings["idle_in_transaction_session_timeout"] = _milliseconds(
            idle_in_transaction_timeout
        )
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init,
        reset=reset,
        max_inactive_connection_lifetime=max_inactive_connection_lifetime,
        command_timeout=command_timeout,
        timeout=connect_timeout,
        server_settings=server_settings or None,
        target_session_attrs=WRITABLE,
    )
    return pool


def _milliseconds(seconds: float) -> str:
    return str(max(int(seconds * 1000), 1))


@asynccontextmanager
async def single_connection(dsn: str, timeout: float = 10.0) -> AsyncIterator[asyncpg.Connection]:
    """One connection with our codecs, outside any pool (an operator's tool)."""
    conn = await asyncpg.connect(dsn, timeout=timeout)
    try:
        await init_connection(conn)
        yield conn
    finally:
        await conn.close()


class Store:
    """Every aggregate's queries over one pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        generator_period_ms: int = 1000,
        cron_period_ms: int = 1000,
        tz: tzinfo | None = None,
    ) -> None:
        self.pool = pool
        self.server = ServerStore(pool)
        self.nonces = NonceStore(pool)
        self.colonies = ColonyStore(pool)
        self.executors = ExecutorStore(pool)
        self.users = UserStore(pool)
        self.locations = LocationStore(pool)
        self.functions = FunctionStore(pool)
        self.files = FileStore(pool)
        self.submissions = Submissions(pool)
        self.claims = Claims(pool)
        self.closes = Closes(pool)
        self.handovers = Handovers(pool, self.closes)
        self.processes = ProcessReads(pool)
        self.logs = Logs(pool)
        self.attributes = Attributes(pool)
        self.processgraphs = ProcessGraphStore(pool)
        self.schedules = ScheduleStore(
            pool,
            self.processgraphs,
            new_random_id,
            generator_period_ms=generator_period_ms,
            cron_period_ms=cron_period_ms,
            tz=tz,
        )
        self.ticks = TickStore(pool)
        self.channels = ChannelStore(pool)
        self.blueprints = BlueprintStore(pool)

    async def close(self) -> None:
        await self.pool.close()
