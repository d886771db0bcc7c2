"""Run one replica until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import ssl
import sys
from urllib.parse import urlsplit

from aiohttp import web

from colonies._aio import run
from colonies.config import ServerConfig
from colonies.server.app import create_app, drain
from colonies.server.transports import TransportStartError, http
from colonies.store import store_error
from colonies.store.migrate import known_versions, migrate_database
from colonies.store.schema import SchemaBehind, SchemaError, check_current, database_state

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


# Seconds between looks at the certificate files for a renewal.
CERTIFICATE_CHECK_INTERVAL = 30.0


def _files_version(*paths: str) -> tuple[tuple[int, int], ...]:
    """(inode, mtime) of each file, following symlinks: a Kubernetes Secret volume swaps a
    symlink when the Secret changes."""
    return tuple((st.st_ino, st.st_mtime_ns) for st in map(os.stat, paths))


def _load_checked(context: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    """Load a certificate and key into a serving context only once they load together: a
    failed load_cert_chain can leave a context with the new certificate and the old key. (A
    Secret volume swaps both files at once; a pair changed by hand between the two loads is
    caught at the next look.)"""
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_file, key_file)
    context.load_cert_chain(cert_file, key_file)


async def reload_certificate_on_change(context: ssl.SSLContext, config: ServerConfig) -> None:
    """Load a renewed certificate and key into the serving context (new connections get them);
    a pair that does not load (half written, mismatched) is retried at the next look."""
    try:
        loaded = _files_version(config.tls_cert, config.tls_key)
    except OSError:
        loaded = ()
    while True:
        await asyncio.sleep(CERTIFICATE_CHECK_INTERVAL)
        try:
            current = _files_version(config.tls_cert, config.tls_key)
            if current == loaded:
                continue
            _load_checked(context, config.tls_cert, config.tls_key)
        except OSError as exc:  # ssl.SSLError too
            log.warning("TLS certificate not reloaded: %s", _one_line(exc))
            continue
        loaded = current
        log.info("TLS certificate reloaded from %s", config.tls_cert)


def make_runner(app: web.Application) -> web.AppRunner:
    """The runner every replica (and the test fixtures) use, with the HTTP transport's
    connection handling (server/transports/http.py: read timeouts, no decompression).

    ``handler_cancellation``: when a long-polling executor goes away, its assign handler is
    cancelled instead of claiming a process nobody will receive.
    """
    return http.AppRunner(
        app,
        keepalive_timeout=120,
        handle_signals=False,
        access_log=None,
        handler_cancellation=True,
    )


async def serve(config: ServerConfig, stop: asyncio.Event, reuse_port: bool = False) -> None:
    app = create_app(config)
    runner = make_runner(app)
    try:
        await runner.setup()  # opens the pool, migrates and seeds (create_app's lifecycle)
    except TransportStartError as exc:  # a gRPC, CoAP or LibP2P port we cannot listen on
        await runner.cleanup()
        raise StartupError(f"cannot start: {exc}") from exc
    except SchemaError as exc:
        raise StartupError(f"cannot start: {exc}") from exc
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
    site = web.TCPSite(
        runner,
        config.bind,
        config.port,
        ssl_context=ssl_context,
        backlog=1024,
        reuse_port=reuse_port or None,
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(
            f"cannot start: cannot listen on {config.bind}:{config.port}: {_one_line(exc)}"
        ) from exc
    log.info("serving on %s:%d", config.bind, config.port)
    reloading = None
    if ssl_context is not None:
        reloading = asyncio.create_task(reload_certificate_on_change(ssl_context, config))
    try:
        await stop.wait()
        log.info("shutting down")
        await drain(app, config.drain_seconds)
    finally:
        if reloading is not None:
            reloading.cancel()
        await runner.cleanup()


async def migrate_schema(config: ServerConfig, *, wait: bool, timeout: float) -> str:
    """``colonies server migrate``: apply the migrations, or with ``wait`` only wait until the
    schema is current (another process migrates). Retries while the database cannot be reached
    (it may be starting) until ``timeout`` seconds (0: forever); a schema newer than this code
    can run on fails at once. Returns what to print; raises StartupError."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout > 0 else None
    location = _db_location(config.db_url)
    reported = 0.0
    while True:
        try:
            if not wait:
                applied = await migrate_database(config.db_url)
                done = ", ".join(f"{v:03d}" for v in applied) or "none needed"
                return f"migrated {location}: {done}"
            state = await database_state(config.db_url)
            check_current(state, known_versions())
            return f"the schema of {location} is current (version {state.version})"
        except SchemaBehind as exc:
            reason = str(exc)
        except SchemaError as exc:  # too new: waiting cannot help
            raise StartupError(str(exc)) from exc
        except Exception as exc:
            if store_error(exc) is None:
                raise
            reason = f"database {location}: {_one_line(exc)}"
        if deadline is not None and loop.time() > deadline:
            raise StartupError(f"gave up after {timeout:.0f} s: {reason}")
        if loop.time() - reported >= 10:
            log.info("waiting: %s", reason)
            reported = loop.time()
        await asyncio.sleep(2)


def run_migrate(config: ServerConfig, *, wait: bool, timeout: float) -> None:
    _configure_logging(config)
    try:
        log.info("%s", run(migrate_schema(config, wait=wait, timeout=timeout)))
    except StartupError as exc:
        log.error("%s", exc)
        sys.exit(1)


def run_server(config: ServerConfig) -> None:
    _configure_logging(config)
    status = run_workers(config) if config.workers > 1 else _serve_until_stopped(config)
    if status:
        sys.exit(status)


def _serve_until_stopped(config: ServerConfig, reuse_port: bool = False) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, stop, reuse_port)

    try:
        run(main())
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    return 0


def run_workers(config: ServerConfig) -> int:
    """COLONIES_WORKERS processes, each a replica of its own (its pool, waiters, caches and
    /metrics; named ``<replica>/<n>``), accepting on the one HTTP port (SO_REUSEPORT: the
    kernel spreads connections over them). This process only supervises: SIGTERM and SIGINT
    are passed on, and when a worker fails the others are stopped and the exit status is 1."""
    children: dict[int, int] = {}
    for n in range(config.workers):
        pid = os.fork()
        if pid == 0:  # the worker: no event loop, no connection exists yet in this process
            worker = dataclasses.replace(config, replica_name=f"{config.replica_name}/{n}")
            os._exit(_serve_until_stopped(worker, reuse_port=True))
        children[pid] = n
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            os.kill(pid, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("%d workers on %s:%d", config.workers, config.bind, config.port)
    status = 0
    while children:
        pid, code = os.wait()
        if pid not in children:
            continue
        n = children.pop(pid)
        failed = os.waitstatus_to_exitcode(code) != 0
        if failed or not stopping:
            log.error("worker %d stopped (status %d)", n, os.waitstatus_to_exitcode(code))
            status = 1
            if not stopping:  # one worker gone: stop the others, let the supervisor restart
                stopping = True
                for other in children:
                    os.kill(other, signal.SIGTERM)
    return status
