"""Run one replica until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from colonies.config import ServerConfig
from colonies.server.app import create_app

log = logging.getLogger("colonies.server")


def _configure_logging(config: ServerConfig) -> None:
    level = logging.DEBUG if config.verbose else logging.INFO
    if config.log_format == "json":
        fmt = (
            '{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}'
        )
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def serve(config: ServerConfig, stop: asyncio.Event) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, keepalive_timeout=120, handle_signals=False, access_log=None)
    await runner.setup()
    ssl_context = None
    if config.tls_cert:
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(config.tls_cert, config.tls_key)
    site = web.TCPSite(runner, config.bind, config.port, ssl_context=ssl_context, backlog=1024)
    await site.start()
    log.info("serving on %s:%d", config.bind, config.port)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()


def run_server(config: ServerConfig) -> None:
    _configure_logging(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, stop)

    asyncio.run(main())
