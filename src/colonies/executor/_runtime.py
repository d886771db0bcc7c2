"""The executor loop: register, advertise functions, long-poll, run, close or fail."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

from colonies import _aio as aio
from colonies.client import AsyncClient, ColoniesError, Transport, transport_from_config
from colonies.config import ClientConfig, ConfigError, S3Config
from colonies.core import Executor as ExecutorObject
from colonies.core import Function, Process
from colonies.crypto import PrivateKey, parse_private_key
from colonies.executor._mounts import MountError, Mounts, mount_path

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__colonies_function__"


def function(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Mark a method of an Executor subclass (or any callable) as a colonies function."""

    def mark(f: Callable[..., Any]) -> Callable[..., Any]:
        setattr(f, _MARK, name or f.__name__)
        return f

    return mark(fn) if fn is not None else mark


@dataclass
class ProcessContext:
    """What a function may use besides its arguments: the process, logs, output."""

    process: Process
    client: AsyncClient
    loop: asyncio.AbstractEventLoop
    logs: list[str] = field(default_factory=list)
    #: The executor's ColonyFS directory: a spec's ``fs`` dirs are below it.
    fs_dir: Path | None = None

    def path(self, dir: str) -> Path:
        """Where a mount's ``dir`` of the spec's ``fs`` section is (``{processid}`` filled)."""
        if self.fs_dir is None:
            raise ValueError("this executor has no ColonyFS directory")
        return mount_path(self.fs_dir, dir, self.process.processid)

    @property
    def input(self) -> list[Any]:
        """The parents' outputs, for a workflow member (docs/protocol.md §7.9)."""
        return self.process.input

    async def alog(self, message: str) -> None:
        await self.client.add_log(self.process.processid, message)

    def log(self, message: str) -> None:
        """Stream one log line to the server (from a coroutine or a worker thread)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.loop.create_task(self.alog(message))
        else:
            asyncio.run_coroutine_threadsafe(self.alog(message), self.loop).result(30)


def _wants_context(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and (params[0].name == "ctx" or params[0].annotation is ProcessContext)


def _as_output(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, (list, tuple)):
        return list(result)
    return [result]


class Executor:
    """One executor identity serving a set of functions."""

    def __init__(
        self,
        url: str,
        key: PrivateKey | str,
        *,
        colony: str,
        name: str,
        executortype: str,
        colony_key: PrivateKey | str | None = None,
        location: str = "",
        poll_timeout: int = 10,
        grace_seconds: float = 30.0,
        ca_file: str = "",
        fs_dir: Path | str | None = None,
        s3: S3Config | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.key = parse_private_key(key) if isinstance(key, str) else key
        self.colony_key = (
            parse_private_key(colony_key) if isinstance(colony_key, str) else colony_key
        )
        # ``transport``: gRPC, CoAP, LibP2P or a chain of them (docs/protocol.md §12); HTTP to
        # ``url`` by default.
        self.client = AsyncClient(url, self.key, ca_file=ca_file, transport=transport)
        self.colony = colony
        self.name = name
        self.executortype = executortype
        self.location = location
        self.poll_timeout = poll_timeout
        self.grace_seconds = grace_seconds
        self.functions: dict[str, Callable[..., Any]] = {}
        self.current: Process | None = None
        # The executor fast path (docs/protocol.md §7.21): whether the server serves it, asked
        # when serving starts.
        self.fast_path = False
        self.stopping = asyncio.Event()
        # ColonyFS mounts land here; S3 settings default to the AWS_S3_* variables.
        self.fs_dir = Path(fs_dir) if fs_dir else Path(tempfile.gettempdir()) / "colonies-fs" / name
        self.mounts = Mounts(self.client, colony, self.fs_dir, s3)
        for attr in dir(type(self)):
            member = getattr(self, attr, None)
            mark = getattr(member, _MARK, None)
            if mark is not None and callable(member):
                self.functions[mark] = member

    @classmethod
    def from_env(
        cls,
        key: PrivateKey | str,
        *,
        name: str | None = None,
        executortype: str | None = None,
        config: ClientConfig | None = None,
        **kwargs: Any,
    ) -> Executor:
        """An executor with the key ``key``, configured by the COLONIES_* variables: the
        server (COLONIES_SERVER_HOST, COLONIES_SERVER_PORT, COLONIES_TLS, COLONIES_CA_FILE),
        the colony (COLONIES_COLONY_NAME), its name and type unless given
        (COLONIES_EXECUTOR_NAME, COLONIES_EXECUTOR_TYPE), and, when COLONIES_COLONY_PRVKEY is
        set, the colony owner's key with which it registers itself; the transports of
        COLONIES_CLIENT_BACKENDS (docs/protocol.md §12.6). ``kwargs`` as for the constructor
        (``location``, ``fs_dir``, ``grace_seconds``, ...)."""
        config = config or ClientConfig.from_env()
        name = name or config.executor_name
        executortype = executortype or config.executor_type
        if not (name and executortype and config.colony_name):
            raise ConfigError(
                "an executor needs a name, a type and a colony: pass name= and executortype=, "
                "or set COLONIES_EXECUTOR_NAME, COLONIES_EXECUTOR_TYPE and COLONIES_COLONY_NAME"
            )
        kwargs.setdefault("colony_key", config.colony_prvkey or None)
        kwargs.setdefault("ca_file", config.ca_file)
        kwargs.setdefault("transport", transport_from_config(config))
        return cls(
            config.url,
            key,
            colony=config.colony_name,
            name=name,
            executortype=executortype,
            **kwargs,
        )

    @overload
    def function(self, fn: F, *, name: str | None = None) -> F: ...

    @overload
    def function(self, fn: None = None, *, name: str | None = None) -> Callable[[F], F]: ...

    def function(self, fn: F | None = None, *, name: str | None = None) -> F | Callable[[F], F]:
        """Decorator registering a plain function on this executor (``@ex.function`` or
        ``@ex.function(name="other")``)."""

        def register(f: F) -> F:
            self.functions[name or f.__name__] = f
            return f

        return register(fn) if fn is not None else register

    # --- set-up -------------------------------------------------------------------------------
    async def register(self) -> None:
        """Register (with the colony owner's key, if given) and advertise every function.

        Raises :class:`RegistrationError` with what to do when the name is taken by another
        key or the key is not a member of the colony.
        """
        name_taken = False
        if self.colony_key is not None:
            executor = ExecutorObject(
                executorid=self.key.id,
                executorname=self.name,
                executortype=self.executortype,
                colonyname=self.colony,
                locationname=self.location,
            )
            try:
                await self.client.add_executor(executor, key=self.colony_key)
            except ColoniesError as exc:
                if exc.status != 400 or "already exists" not in exc.message:
                    raise
                name_taken = True  # by this key (a restart: fine) or by another one
            await self.client.approve_executor(self.colony, self.name, key=self.colony_key)
        try:
            registered = await self.client.get_functions(self.colony, self.name)
        except ColoniesError as exc:
            if exc.status != 403:
                raise
            raise RegistrationError(self._not_member(name_taken)) from None
        existing = {f.funcname for f in registered}
        for funcname in self.functions:
            if funcname not in existing:
                await self.client.add_function(
                    Function(executorname=self.name, colonyname=self.colony, funcname=funcname)
                )

    def _not_member(self, name_taken: bool) -> str:
        if name_taken:
            return (
                f"executor name {self.name!r} in colony {self.colony!r} is registered with "
                f"another key, not this one (ID {self.key.id[:16]}...): run with that key "
                "(keep it, e.g. in a file or COLONIES_PRVKEY), choose another name, or remove "
                f"the old registration first (colonies executor remove --name {self.name})"
            )
        return (
            f"this executor's key (ID {self.key.id}) is not a member of colony "
            f"{self.colony!r}: have the colony owner register and approve it (colonies "
            f"executor add --name {self.name} --type {self.executortype} --executorid "
            f"{self.key.id}; colonies executor approve --name {self.name}), or pass "
            "colony_key= so that it registers itself"
        )

    # --- the loop -----------------------------------------------------------------------------
    async def serve(self) -> None:
        """Long-poll and run processes until :meth:`stop` is called."""
        await self.register()
        log.info(
            "executor %s (type %s) registered in colony %s at %s; serving %s",
            self.name,
            self.executortype,
            self.colony,
            self.client.rpc.base_url,
            ", ".join(sorted(self.functions)) or "no functions",
        )
        self.fast_path = await self._server_has_fast_path()
        held: Process | None = None  # taken with the previous close (the fast path)
        try:
            while held is not None or not self.stopping.is_set():
                if held is not None:  # claimed for us already: run it, even when stopping
                    held = await self._execute(held)
                    continue
                poll = asyncio.create_task(self.client.assign(self.colony, self.poll_timeout))
                stop = asyncio.create_task(self.stopping.wait())
                done, _ = await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
                if poll not in done:
                    poll.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ColoniesError):
                        await poll
                    break
                stop.cancel()
                try:
                    process = poll.result()
                except ColoniesError as exc:
                    log.warning("assign failed: %s", exc)
                    await asyncio.sleep(1)
                    continue
                if process is not None:
                    held = await self._execute(process)
        finally:
            await self.mounts.close()
            await self.client.close()

    async def _server_has_fast_path(self) -> bool:
        """Whether the server lists the executor fast path (docs/protocol.md §7.21): then each
        close also takes the next process, one request instead of two."""
        try:
            info = await self.client.server_info()
        except ColoniesError as exc:
            log.info("no server info (%s): closing and polling separately", exc)
            return False
        return "closeandassignmsg" in info.features

    async def _close(
        self, process: Process, output: list[Any] | None, error: str | None
    ) -> Process | None:
        """Close ``process``; on the fast path also take the next one (returned), unless
        stopping."""
        errors = None if error is None else [error]
        if self.fast_path and not self.stopping.is_set():
            try:
                taken = await self.client.close_and_assign(
                    process.processid, output, errors=errors, count=1
                )
                return taken[0] if taken else None
            except ColoniesError as exc:
                if "PayloadType" not in exc.message:  # not: a server without the fast path
                    raise
                log.info("the server no longer serves the fast path: closing separately")
                self.fast_path = False
        if errors is None:
            await self.client.close_successful(process.processid, output)
        else:
            await self.client.close_failed(process.processid, errors)
        return None

    async def _execute(self, process: Process) -> Process | None:
        """Run ``process`` and close it; the next process when the close took one."""
        self.current = process
        started = time.monotonic()
        log.info("process %s: %s", process.processid, _call_text(process))
        mounted = bool(process.spec.fs.mount)
        try:
            if mounted:
                try:
                    await self.mounts.before(process)
                except (MountError, ConfigError) as exc:
                    # Never run without the inputs the spec asked for.
                    log.warning("process %s: inputs not fetched: %s", process.processid, exc)
                    await self._cleanup_quietly(process)
                    return await self._close(
                        process, None, f"ColonyFS: could not fetch the inputs: {exc}"
                    )
            work = asyncio.create_task(self._run_function(process))
            stop = asyncio.create_task(self.stopping.wait())
            done, _ = await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
            if work not in done:
                # Shutting down: give the function a grace period, then fail the process.
                done, _ = await asyncio.wait({work}, timeout=self.grace_seconds)
            stop.cancel()
            if work in done:
                output, error = work.result()
            else:
                work.cancel()
                output, error = None, "executor shut down before the process finished"
            if mounted:
                try:
                    await self.mounts.after(process)
                except (MountError, ConfigError) as exc:
                    if error is None:
                        output, error = None, f"ColonyFS: could not save the results: {exc}"
            elapsed = time.monotonic() - started
            taken = await self._close(process, output, error)
            if error is None:
                log.info("process %s: succeeded in %.2f s", process.processid, elapsed)
            else:
                log.info("process %s: failed in %.2f s: %s", process.processid, elapsed, error)
            return taken
        except ColoniesError as exc:
            # Reclaimed or cancelled meanwhile: the server refuses the late close; nothing to do.
            log.warning("closing %s failed: %s", process.processid, exc)
        finally:
            self.current = None
        return None

    async def _cleanup_quietly(self, process: Process) -> None:
        try:
            await self.mounts.after(process, save=False)
        except (MountError, OSError) as exc:
            log.info("process %s: clean-up after failed inputs: %s", process.processid, exc)

    async def _run_function(self, process: Process) -> tuple[list[Any] | None, str | None]:
        """(output, None) on success, (None, error text) on failure."""
        funcname = process.spec.funcname
        fn = self.functions.get(funcname)
        if fn is None:
            return None, f"function {funcname!r} is not registered on executor {self.name}"
        ctx = ProcessContext(process, self.client, asyncio.get_running_loop(), fs_dir=self.fs_dir)
        args = list(process.spec.args)
        kwargs = dict(process.spec.kwargs)
        if _wants_context(fn):
            args.insert(0, ctx)
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(*args, **kwargs)
            else:
                result = await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:
            log.debug("process %s: %s", process.processid, traceback.format_exc())
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return _as_output(result), None

    def stop(self) -> None:
        if not self.stopping.is_set() and self.current is not None:
            log.info(
                "stopping: letting process %s finish (up to %g s)",
                self.current.processid,
                self.grace_seconds,
            )
        self.stopping.set()

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT; the current process is finished or failed first.

        For a script's main: progress goes to stderr (unless logging is configured already),
        and a failure to start (the server unreachable, the name taken by another key, the key
        not a member) is one line on stderr and exit status 1 instead of a traceback.
        """
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
            await self.serve()

        try:
            aio.run(main())
        except (RegistrationError, ColoniesError) as exc:
            print(f"error: executor {self.name}: {exc}", file=sys.stderr)
            sys.exit(1)
        except OSError as exc:  # the SDK's transport errors are ConnectionErrors
            url = self.client.rpc.base_url
            print(f"error: executor {self.name}: no server at {url}: {exc}", file=sys.stderr)
            sys.exit(1)
        log.info("executor %s stopped", self.name)


class RegistrationError(Exception):
    """The executor cannot take work: its name is another key's, or its key is no member."""


def _call_text(process: Process, limit: int = 120) -> str:
    """``funcname(args, k=v)`` for the log, cut at ``limit`` characters."""
    parts = [repr(a) for a in process.spec.args]
    parts += [f"{k}={v!r}" for k, v in process.spec.kwargs.items()]
    text = f"{process.spec.funcname}({', '.join(parts)})"
    return text if len(text) <= limit else text[: limit - 3] + "..."
