"""The aiohttp application: /api, /health, /ready, /metrics (and /pubsub once processes exist)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from colonies.config import ServerConfig
from colonies.core.events import (
    AccessChangeEvent,
    ChannelEvent,
    ProcessEvent,
    ResumeEvent,
    parse_event,
)
from colonies.core.states import ProcessState
from colonies.ha.events import EventBus
from colonies.rpc.envelope import encode_error
from colonies.server import handlers  # noqa: F401  (registers every route)
from colonies.server import pubsub as pubsub_module
from colonies.server.dispatch import Dispatcher
from colonies.server.drain import close_connection_when_draining, finish_draining, start_draining
from colonies.server.leadership import Leadership
from colonies.server.readiness import ReadinessCheck
from colonies.server.registry import registry
from colonies.server.state import ServerState, load_timezone
from colonies.server.waiters import RemoteWakes
from colonies.store import Store, connect, migrate
from colonies.store.events import EVENTS_CHANNEL
from colonies.store.migrate import known_versions
from colonies.store.schema import check_current, schema_state

log = logging.getLogger(__name__)

STATE_KEY = web.AppKey("state", ServerState)
DISPATCHER_KEY = web.AppKey("dispatcher", Dispatcher)
LEADERSHIP_KEY = web.AppKey("leadership", Leadership)
READINESS_KEY = web.AppKey("readiness", ReadinessCheck)

_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Origin, Content-Length, Content-Type",
}


def _envelope_response(status: int, body: bytes) -> web.Response:
    return web.Response(
        status=status, body=body, content_type="text/plain", charset="utf-8", headers=_CORS_HEADERS
    )


async def api(request: web.Request) -> web.Response:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        return _envelope_response(413, encode_error(413, f"Request body too large: {exc.text}"))
    status, reply = await request.app[DISPATCHER_KEY].handle(body)
    return _envelope_response(status, reply)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=_CORS_HEADERS)


async def health(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def ready(request: web.Request) -> web.Response:
    if request.app[STATE_KEY].draining:
        return web.Response(status=503, text="shutting down\n")
    problem = await request.app[READINESS_KEY].problem()
    if problem is not None:
        return web.Response(status=503, text=f"database unavailable: {problem}\n")
    return web.Response(status=200, text="ok\n")


async def pubsub(request: web.Request) -> web.WebSocketResponse:
    return await pubsub_module.pubsub(request, request.app[DISPATCHER_KEY])


async def metrics(request: web.Request) -> web.Response:
    data = generate_latest(request.app[STATE_KEY].metrics.registry)
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(config: ServerConfig, store: Store | None = None) -> web.Application:
    """The application; connects to the database, migrates and seeds on start-up."""
    app = web.Application(client_max_size=config.max_body)
    app.router.add_post("/api", api)
    app.router.add_route("OPTIONS", "/api", preflight)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/pubsub", pubsub)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        own_store = store is None
        active = store
        # The PostgreSQL backends of our pool: events they send are this replica's own.
        # (Empty with a store given from outside: then every event counts as our own.)
        own_backends: set[int] = set()
        if active is None:
            pool = await connect(
                config.db_url,
                backend_pids=own_backends,
                min_size=config.db_pool_min,
                max_size=config.db_pool_max,
                max_inactive_connection_lifetime=float(config.db_conn_max_idle_time),
            )
            active = Store(
                pool,
                generator_period_ms=config.generator_period_ms,
                cron_period_ms=config.cron_period_ms,
                tz=load_timezone(config.timezone),
            )
        async with active.pool.acquire() as conn:
            if config.db_migrate:
                await migrate(conn)
            else:  # another process migrates (the Kubernetes migration Job): only check
                check_current(await schema_state(conn), known_versions())
        if config.server_id:
            in_force = await active.server.seed_server_id(config.server_id)
            if in_force != config.server_id:
                log.warning(
                    "the stored server ID differs from COLONIES_SERVER_ID; keeping the stored one "
                    "(it was changed with changeserveridmsg)"
                )
        elif not await active.server.server_id():
            log.warning("no server owner: set COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY")
        state = ServerState(config=config, store=active, timezone=load_timezone(config.timezone))
        state.metrics.watch_pool(active.pool)
        app[STATE_KEY] = state
        app[DISPATCHER_KEY] = Dispatcher(state, registry)

        remote_wakes = RemoteWakes(state.waiters.wake_one)

        def on_event(payload: str, sender: int) -> None:
            event = parse_event(payload)
            if isinstance(event, ProcessEvent):
                if event.state != ProcessState.WAITING:
                    remote_wakes.left_waiting(event.processid)
                elif not own_backends or sender in own_backends:
                    state.waiters.wake_one(event)
                else:  # another replica's: its own polls are likely to take it first
                    remote_wakes.schedule(event)
                state.subscriptions.publish(event)
            elif isinstance(event, ResumeEvent):
                state.waiters.wake_all(event.colonyname)
            elif isinstance(event, ChannelEvent):
                state.channel_subscriptions.publish(event.channelid)
            elif isinstance(event, AccessChangeEvent):
                state.access_cache.clear()

        def on_reconnect() -> None:
            state.access_cache.clear()  # changes may have gone unheard
            state.waiters.wake_all()

        bus = EventBus(
            config.db_url,
            EVENTS_CHANNEL,
            on_event,
            on_reconnect,
            on_connection=state.access_cache.set_enabled,
        )
        await bus.start()
        leadership = Leadership(state)
        state.leadership = leadership
        leadership.start()
        app[LEADERSHIP_KEY] = leadership
        app[READINESS_KEY] = ReadinessCheck(config.db_url)
        try:
            yield
        finally:
            await leadership.stop()
            await bus.stop()
            await app[READINESS_KEY].close()
            if own_store:
                await active.close()

    async def drain_now(app: web.Application) -> None:
        """Shutdown without a drain period first (server/run.py drains before): hand leadership
        over, answer the long polls and close the WebSockets before in-flight requests are
        awaited."""
        await start_draining(app[STATE_KEY], 0)
        await finish_draining(app[STATE_KEY])

    async def close_when_draining(request: web.Request, response: web.StreamResponse) -> None:
        await close_connection_when_draining(request.app[STATE_KEY], request, response)

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(drain_now)
    app.on_response_prepare.append(close_when_draining)
    return app


async def drain(app: web.Application, seconds: float) -> None:
    """SIGTERM: keep serving for ``seconds`` while load balancers stop routing here
    (server/drain.py), then close the WebSockets; the caller then stops the runner."""
    await start_draining(app[STATE_KEY], seconds)
    await finish_draining(app[STATE_KEY])
