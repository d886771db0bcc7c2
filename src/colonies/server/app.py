"""The aiohttp application: the transports /api and /pubsub, /health, /ready, /metrics, and
the transports on ports of their own (gRPC, CoAP, LibP2P) that COLONIES_SERVER_BACKENDS names.

This is where the replica is wired together: the store, the dispatcher the transports share,
the event bus and the leadership.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from colonies.config import ServerConfig
from colonies.core import ServerBackend
from colonies.core.events import (
    AccessChangeEvent,
    ChannelEvent,
    ProcessEvent,
    ResumeEvent,
)
from colonies.core.states import ProcessState
from colonies.ha.events import EventBus
from colonies.ha.leadership import Leadership, election_for, leader_ticks
from colonies.server.dispatch import Dispatcher
from colonies.server.drain import close_connection_when_draining, finish_draining, start_draining
from colonies.server.metrics import Metrics
from colonies.server.readiness import ReadinessCheck
from colonies.server.routes import registry
from colonies.server.state import ServerState, load_timezone
from colonies.server.transports import DISPATCHER_KEY, Backend, http, websocket
from colonies.server.ui import add_ui_routes
from colonies.server.waiters import RemoteWakes
from colonies.store import Store, connect, migrate
from colonies.store.events import EVENTS_CHANNEL, parse_event
from colonies.store.migrate import known_versions
from colonies.store.schema import check_current, schema_state

log = logging.getLogger(__name__)

__all__ = ["DISPATCHER_KEY", "LEADERSHIP_KEY", "READINESS_KEY", "STATE_KEY", "create_app", "drain"]

STATE_KEY = web.AppKey("state", ServerState)
LEADERSHIP_KEY = web.AppKey("leadership", Leadership)
READINESS_KEY = web.AppKey("readiness", ReadinessCheck)
BACKENDS_KEY = web.AppKey("backends", list[Backend])
#: Seconds a transport on its own port gives its requests in flight when the replica stops.
STOP_GRACE = 10.0


async def health(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def ready(request: web.Request) -> web.Response:
    if request.app[STATE_KEY].draining:
        return web.Response(status=503, text="shutting down\n")
    problem = await request.app[READINESS_KEY].problem()
    if problem is not None:
        return web.Response(status=503, text=f"database unavailable: {problem}\n")
    return web.Response(status=200, text="ok\n")


async def metrics(request: web.Request) -> web.Response:
    data = generate_latest(request.app[STATE_KEY].metrics.registry)
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


def own_port_backends(config: ServerConfig, dispatcher: Dispatcher) -> list[Backend]:
    """The configured transports that listen on ports of their own, in the configured order;
    each module is imported only when its backend is enabled (py-libp2p takes seconds)."""
    backends: list[Backend] = []
    for name in config.backends:
        if name == "grpc":
            from colonies.server.transports.grpc_backend import GrpcBackend

            backends.append(GrpcBackend(config, dispatcher))
        elif name == "coap":
            from colonies.server.transports.coap_backend import CoapBackend

            backends.append(CoapBackend(config, dispatcher))
        elif name == "libp2p":
            from colonies.server.transports.libp2p_backend import Libp2pBackend

            backends.append(Libp2pBackend(config, dispatcher))
    return backends


def _http_backend(config: ServerConfig) -> ServerBackend:
    return ServerBackend(
        type="http", port=config.port, host=config.advertised_host, tls=config.advertised_tls
    )


async def _stop_backends(backends: list[Backend]) -> None:
    results = await asyncio.gather(
        *(backend.stop(STOP_GRACE) for backend in backends), return_exceptions=True
    )
    for result in results:
        if isinstance(result, Exception):
            log.warning("a transport did not stop cleanly: %r", result)


def create_app(config: ServerConfig) -> web.Application:
    """The application; connects to the database, migrates and seeds on start-up, then starts
    the configured transports. /health, /ready and /metrics are always served over HTTP; /api
    and /pubsub when the ``http`` backend is enabled."""
    app = web.Application(client_max_size=config.max_body)
    if "http" in config.backends:
        http.add_routes(app)
        websocket.add_routes(app)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    add_ui_routes(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # The PostgreSQL backends of our pool: events they send are this replica's own.
        own_backends: set[int] = set()
        pool = await connect(
            config.db_url,
            backend_pids=own_backends,
            min_size=config.db_pool_min,
            max_size=config.db_pool_max,
            max_inactive_connection_lifetime=float(config.db_conn_max_idle_time),
        )
        store = Store(
            pool,
            generator_period_ms=config.generator_period_ms,
            cron_period_ms=config.cron_period_ms,
            tz=load_timezone(config.timezone),
        )
        async with store.pool.acquire() as conn:
            if config.db_migrate:
                await migrate(conn)
            else:  # another process migrates (the Kubernetes migration Job): only check
                check_current(await schema_state(conn), known_versions())
        if config.server_id:
            in_force = await store.server.seed_server_id(config.server_id)
            if in_force != config.server_id:
                log.warning(
                    "the stored server ID differs from COLONIES_SERVER_ID; keeping the stored one "
                    "(it was changed with changeserveridmsg)"
                )
        elif not await store.server.server_id():
            log.warning("no server owner: set COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY")
        state = ServerState(
            config=config,
            store=store,
            timezone=load_timezone(config.timezone),
            metrics=Metrics(colony_names=config.metrics_colony_names),
        )
        state.metrics.watch_pool(store.pool)
        app[STATE_KEY] = state
        app[DISPATCHER_KEY] = Dispatcher(state, registry)

        remote_wakes = RemoteWakes(state.waiters.wake_one)

        def on_event(payload: str, sender: int) -> None:
            event = parse_event(payload)
            if isinstance(event, ProcessEvent):
                if event.state != ProcessState.WAITING:
                    remote_wakes.left_waiting(event.processid)
                elif sender in own_backends:
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
        leadership = Leadership(
            election_for(config, store),
            leader_ticks(store, config, state.metrics),
            state.metrics,
        )
        state.leadership = leadership
        leadership.start()
        app[LEADERSHIP_KEY] = leadership
        app[READINESS_KEY] = ReadinessCheck(config.db_url)
        backends = app[BACKENDS_KEY] = []
        try:
            for backend in own_port_backends(config, app[DISPATCHER_KEY]):
                await backend.start()
                backends.append(backend)
            infos = iter([backend.info() for backend in backends])  # in the configured order
            state.backends = [
                _http_backend(config) if name == "http" else next(infos) for name in config.backends
            ]
            yield
        finally:
            await _stop_backends(backends)
            await leadership.stop()
            await bus.stop()
            await app[READINESS_KEY].close()
            await store.close()

    async def drain_now(app: web.Application) -> None:
        """Shutdown without a drain period first (server/run.py drains before): hand leadership
        over, answer the long polls and close the WebSockets before in-flight requests are
        awaited; then the transports on ports of their own stop (their subscriptions end)."""
        await start_draining(app[STATE_KEY], 0)
        await finish_draining(app[STATE_KEY])
        await _stop_backends(app[BACKENDS_KEY])

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
