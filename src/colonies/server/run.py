"""Run one replica until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import ssl
import sys
from urllib.parse import urlsplit

from aiohttp import web

from colonies._aio import run
from colonies.config import ServerConfig
from colonies.server.app import create_app
from colonies.store import store_error

log = logging.getLogger("colonies.server")


class StartupError(Exception):
    """The replica cannot start; the message is one line for the operator."""


def _db_location(db_url: str) -> str:
    """host:port/dbname of a DSN (every host of a several-host one), without the user or
    password."""
    try:
        parts = urlsplit(db_url)
        hosts = parts.netloc.rpartition("@")[2]
        if "," not in hosts:
            host = parts.hostname or ""
            hosts = f"{host}:{parts.port or 5432}" if host else ""
    except ValueError:
        return "(the configured database)"
    if parts.scheme not in ("postgresql", "postgres") or not hosts:
        return "(the configured database)"
    return f"{hosts}{parts.path or '/'}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _JsonFormatter(logging.Formatter):
    """One JSON object per line, properly escaped."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _configure_logging(config: ServerConfig) -> None:
    level = logging.DEBUG if config.verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if config.log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def server_ssl_context(config: ServerConfig) -> ssl.SSLContext | None:
    """HTTPS and WSS on the API port when COLONIES_TLSCERT/COLONIES_TLSKEY are set (§1.8)."""
    if not config.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


def make_runner(app: web.Application) -> web.AppRunner:
    """The runner every replica (and the test fixtures) use.

    ``handler_cancellation``: when a long-polling executor goes away, its assign handler is
    cancelled instead of claiming a process nobody will receive.
    """
    return web.AppRunner(
        app,
        keepalive_timeout=120,
        handle_signals=False,
        access_log=None,
        handler_cancellation=True,
    )


async def serve(config: ServerConfig, stop: asyncio.Event) -> None:
    app = create_app(config)
    runner = make_runner(app)
    try:
        await runner.setup()  # opens the pool, migrates and seeds (create_app's lifecycle)
    except Exception as exc:
        # A database that is down, unreachable, misnamed or refusing us.
        if store_error(exc) is None:
            raise
        raise StartupError(
            f"cannot start: database {_db_location(config.db_url)}: {_one_line(exc)}"
        ) from exc
    try:
        ssl_context = server_ssl_context(config)
    except OSError as exc:  # ssl.SSLError too
        await runner.cleanup()
        raise StartupError(
            f"cannot start: cannot load the TLS certificate/key: {_one_line(exc)}"
        ) from exc
    site = web.TCPSite(runner, config.bind, config.port, ssl_context=ssl_context, backlog=1024)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(
            f"cannot start: cannot listen on {config.bind}:{config.port}: {_one_line(exc)}"
        ) from exc
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

    try:
        run(main())
    except StartupError as exc:
        log.error("%s", exc)
        sys.exit(1)
