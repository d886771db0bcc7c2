"""A throwaway PostgreSQL cluster for tests, benchmarks and local drills (tests/support).

Usage::

    with PostgresCluster() as pg:
        pg.create_database("app")
        dsn = pg.dsn("app")  # postgresql://postgres@127.0.0.1:<port>/app

The cluster is created with ``initdb`` in a fresh temporary directory (in memory, under
``/dev/shm``, when there is room), tuned for speed over durability (``fsync=off`` and friends)
and listens on the loopback address only, with trust authentication.  The postmaster is a
direct child of this process (started without ``pg_ctl``), so it is always reaped and never
left as a zombie.

PostgreSQL refuses to run as root.  When this process is root, the server binaries run as the
unprivileged system user ``colonies-pg`` (created on first use with ``useradd``), through the
``user=``/``group=`` arguments of :mod:`subprocess`; the temporary directory is created under
``/dev/shm`` or ``/tmp`` with mode 0700 and handed to that user.

Any cluster still running when the interpreter exits is stopped (and its temporary directory
removed) by an :mod:`atexit` hook.  Nothing can clean up after a SIGKILL of this process.

Only the standard library is used here: no database driver is needed.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import quote

from tests.support import free_port

__all__ = [
    "BINDIR_ENV",
    "PG_SYSTEM_USER",
    "PostgresCluster",
    "PostgresClusterError",
    "find_postgres_bindir",
]

BINDIR_ENV = "COLONIES_PG_BINDIR"
PG_SYSTEM_USER = "colonies-pg"

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
LOG_TAIL_LINES = 40

_STOP_SIGNALS: dict[str, signal.Signals] = {
    "smart": signal.SIGTERM,
    "fast": signal.SIGINT,
    "immediate": signal.SIGQUIT,
}

# Settings for a throwaway test database: speed over durability.
_BASE_SETTINGS: dict[str, str | int] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": 300,
    "shared_buffers": "128MB",
    "logging_collector": "off",
    "log_destination": "stderr",
}

_CONF_NAME = "colonies.conf"
SHM_DIR = "/dev/shm"
SHM_MIN_FREE = 2 * 1024**3  # bytes; a cluster and a few copies of the test database need far less
_SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"


class PostgresClusterError(RuntimeError):
    """A throwaway cluster could not be set up, started, stopped or queried."""


# --------------------------------------------------------------------------------------------
# Binaries and ports


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("postgres", "initdb"))


def _version_key(bindir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def find_postgres_bindir() -> Path:
    """Directory of the PostgreSQL server binaries (``postgres``, ``initdb``, ``psql``...).

    ``$COLONIES_PG_BINDIR`` if set, else the highest version under
    ``/usr/lib/postgresql/*/bin`` (Debian layout), else the directory of ``initdb`` on PATH.
    """
    env = os.environ.get(BINDIR_ENV)
    if env:
        bindir = Path(env)
        if not _has_server(bindir):
            raise PostgresClusterError(
                f"{BINDIR_ENV}={env!r} does not contain executable `postgres` and `initdb`"
            )
        return bindir
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if _has_server(Path(p))]
    if candidates:
        return max(candidates, key=_version_key)
    initdb = shutil.which("initdb")
    if initdb:
        for bindir in (Path(initdb).parent, Path(initdb).resolve().parent):
            if _has_server(bindir):
                return bindir
    raise PostgresClusterError(
        "PostgreSQL server binaries not found (looked at $"
        + BINDIR_ENV
        + ", /usr/lib/postgresql/*/bin and `initdb` on PATH). Install the Debian package "
        "`postgresql` (apt-get install postgresql) or point $" + BINDIR_ENV + " at a bin "
        "directory holding `postgres` and `initdb`."
    )


@functools.cache
def _server_major_version(bindir: Path) -> int:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if not match:
        raise PostgresClusterError(f"cannot parse `postgres --version` output: {out!r}")
    return int(match.group(1))


def _scratch_parent(root: bool) -> str | None:
    """Where a throwaway cluster's directory goes.

    In memory (``/dev/shm``) when it has room: every test copies and drops a database, which
    creates and unlinks hundreds of files, and on a journaled disk that costs more system time
    than everything else a test does. Otherwise ``/tmp`` when root ($TMPDIR may sit somewhere the
    server user cannot reach), else the default temporary directory.
    """
    try:
        shm = os.statvfs(SHM_DIR)
    except OSError:
        pass
    else:
        if os.access(SHM_DIR, os.W_OK) and shm.f_bavail * shm.f_frsize >= SHM_MIN_FREE:
            return SHM_DIR
    return "/tmp" if root else None


# --------------------------------------------------------------------------------------------
# Running as root

_user_lock = threading.Lock()


def _ensure_system_user(name: str = PG_SYSTEM_USER) -> pwd.struct_passwd:
    """Look up ``name``, creating it as a system user without a home or a shell if absent."""
    with _user_lock:
        useradd = shutil.which("useradd", path=_SBIN_PATH) or "useradd"
        last_error = ""
        for _ in range(50):
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
            try:
                proc = subprocess.run(
                    [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=30,
                )
            except OSError as exc:
                raise PostgresClusterError(
                    f"running as root and cannot create the system user {name!r} for "
                    f"PostgreSQL: {exc}"
                ) from exc
            # 0: created; 9: already exists (another process won the race). Anything else may
            # be a transient lock on /etc/passwd held by a concurrent useradd: look and retry.
            last_error = proc.stderr.strip()
            if proc.returncode not in (0, 9):
                time.sleep(0.1)
        raise PostgresClusterError(
            f"running as root and cannot create the system user {name!r} for PostgreSQL "
            f"(useradd: {last_error})"
        )


# --------------------------------------------------------------------------------------------
# Process helpers (Linux /proc; elsewhere they degrade gracefully)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, or None if it does not exist (or /proc is unavailable)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[-1].split()
    return fields[0], int(fields[1])


def _child_pids(pid: int) -> list[int]:
    children = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _proc_stat(int(entry))
                if stat is not None and stat[1] == pid:
                    children.append(int(entry))
    return children


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(pids)
    while pending and time.monotonic() < deadline:
        pending = [p for p in pending if (st := _proc_stat(p)) is not None and st[0] not in "ZX"]
        if pending:
            time.sleep(0.02)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _conf_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    return _quote_literal(str(value))


# --------------------------------------------------------------------------------------------
# Registry for the atexit hook

_registry: set[PostgresCluster] = set()
_registry_lock = threading.Lock()


def _cleanup_at_exit() -> None:
    with _registry_lock:
        clusters = list(_registry)
    for cluster in clusters:
        with contextlib.suppress(Exception):
            cluster.stop(mode="fast", timeout=10.0)
        with contextlib.suppress(Exception):
            cluster.kill()
        with contextlib.suppress(Exception):
            cluster.close()


atexit.register(_cleanup_at_exit)


class _PortInUse(PostgresClusterError):
    pass


# --------------------------------------------------------------------------------------------
# The cluster


class PostgresCluster:
    """A throwaway PostgreSQL cluster (one postmaster, trust auth, loopback only).

    ``base_dir``: where to put the data directory (``<base_dir>/data``), the server log
    (``<base_dir>/postgres.log``) and the Unix socket; by default a fresh temporary directory
    that :meth:`close` (and the context manager) removes.  A caller's ``base_dir`` is kept, and
    an already initialised data directory in it is reused.

    ``port``: fixed port, or None for a free one (re-picked if it is taken before the first
    start; kept across :meth:`restart`).  ``settings``: extra ``postgresql.conf`` settings,
    which override the defaults.
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        user: str = "postgres",
        *,
        bindir: Path | None = None,
        settings: Mapping[str, str | int | float | bool] | None = None,
    ) -> None:
        self._bindir = Path(bindir) if bindir is not None else find_postgres_bindir()
        self._host = host
        self._user = user
        self._owns_base_dir = base_dir is None
        self._base_dir: Path | None = Path(base_dir) if base_dir is not None else None
        self._port_fixed = port is not None
        self._port = port if port is not None else free_port(host)
        self._settings: dict[str, str | int | float | bool] = dict(settings or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._run_as: pwd.struct_passwd | None = None
        self._lock = threading.RLock()

    # -- properties -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def user(self) -> str:
        return self._user

    @property
    def bindir(self) -> Path:
        return self._bindir

    @property
    def base_dir(self) -> Path | None:
        """The directory holding data, log and socket; None before the first start."""
        return self._base_dir

    @property
    def data_dir(self) -> Path:
        return self._require_base_dir() / "data"

    @property
    def log_path(self) -> Path:
        return self._require_base_dir() / "postgres.log"

    @property
    def pid(self) -> int | None:
        """PID of the running postmaster, else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def dsn(self, dbname: str = "postgres") -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"postgresql://{quote(self._user, safe='')}@{host}:{self._port}/{quote(dbname)}"

    # -- lifecycle --------------------------------------------------------------------------

    def is_running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Initialise (first time) and start the server; return once it accepts connections."""
        with self._lock:
            if self.is_running():
                return
            self._proc = None
            self._prepare()
            attempts = 1 if self._port_fixed else 3
            for attempt in range(attempts):
                try:
                    self._spawn_and_wait(timeout)
                except _PortInUse:
                    if attempt + 1 >= attempts:
                        raise
                    self._port = free_port(self._host)
                else:
                    self._port_fixed = True  # keep the port (and DSNs) across restarts
                    return

    def stop(self, mode: str = "fast", timeout: float = STOP_TIMEOUT) -> None:
        """Shut down (``smart``, ``fast`` or ``immediate``); a no-op if not running."""
        if mode not in _STOP_SIGNALS:
            raise ValueError(f"mode must be one of {sorted(_STOP_SIGNALS)}, not {mode!r}")
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(_STOP_SIGNALS[mode])
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._kill_locked(proc)
            self._proc = None
            self._close_log()

    def kill(self) -> None:
        """SIGKILL the postmaster (then its children), like a host crash; for drills.

        Returns once they are gone, so :meth:`start` can run crash recovery right away.
        """
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            if proc.poll() is None:
                self._kill_locked(proc)
            self._proc = None
            self._close_log()

    def restart(self, mode: str = "fast") -> None:
        with self._lock:
            self.stop(mode)
            self.start()

    def close(self) -> None:
        """Stop the server and remove the temporary directory (unless the caller gave it)."""
        with self._lock:
            try:
                self.stop()
            finally:
                if self._owns_base_dir and self._base_dir is not None:
                    shutil.rmtree(self._base_dir, ignore_errors=True)
                    self._base_dir = None
                with _registry_lock:
                    _registry.discard(self)

    def __enter__(self) -> PostgresCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<PostgresCluster {self._host}:{self._port} {state} base_dir={self._base_dir}>"

    # -- SQL through psql -------------------------------------------------------------------

    def execute(self, sql: str, dbname: str = "postgres", timeout: float = 60.0) -> str:
        """Run an SQL script with ``psql`` (stops at the first error); returns unaligned,
        tuples-only output."""
        cmd = [
            str(self._bindir / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self._host,
            "-p",
            str(self._port),
            "-U",
            self._user,
            "-d",
            dbname,
            "-f",
            "-",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGCONNECT_TIMEOUT"] = "10"
        try:
            proc = subprocess.run(
                cmd,
                input=sql,
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresClusterError(f"psql timed out after {timeout}s on {dbname!r}") from exc
        if proc.returncode != 0:
            raise PostgresClusterError(
                f"psql failed (exit {proc.returncode}) on {dbname!r}: {proc.stderr.strip()}"
            )
        return proc.stdout

    def create_database(self, name: str, template: str | None = None) -> None:
        sql = f"CREATE DATABASE {_quote_ident(name)}"
        if template is not None:
            sql += f" TEMPLATE {_quote_ident(template)}"
        self.execute(sql + ";")

    def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, disconnecting its sessions."""
        if _server_major_version(self._bindir) >= 13:
            self.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE);")
            return
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = {_quote_literal(name)} AND pid <> pg_backend_pid();\n"
            f"DROP DATABASE IF EXISTS {_quote_ident(name)};"
        )

    # -- internals --------------------------------------------------------------------------

    def _require_base_dir(self) -> Path:
        if self._base_dir is None:
            raise PostgresClusterError("the cluster has no directory yet: call start() first")
        return self._base_dir

    def _ids(self) -> tuple[int | None, int | None, list[int] | None]:
        """user, group and supplementary groups for the server's subprocesses."""
        if self._run_as is None:
            return None, None, None
        return self._run_as.pw_uid, self._run_as.pw_gid, []

    def _run_tool(self, cmd: list[str], env: dict[str, str] | None = None, hint: str = "") -> None:
        """Run one of PostgreSQL's programs (initdb, pg_basebackup) as the server's user;
        PostgresClusterError with its output, and ``hint``, when it fails."""
        what = Path(cmd[0]).name
        uid, gid, groups = self._ids()
        try:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                cwd=self._require_base_dir(),
                env=self._server_env() if env is None else env,
                user=uid,
                group=gid,
                extra_groups=groups,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresClusterError(f"{what} failed: {exc}") from exc
        if proc.returncode != 0:
            raise PostgresClusterError(
                f"{what} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}{hint}"
            )

    def _server_env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", _SBIN_PATH),
            "LC_ALL": "C",
            "LANG": "C",
            "HOME": str(self._require_base_dir()),
        }
        if "TZ" in os.environ:
            env["TZ"] = os.environ["TZ"]
        return env

    def _chown(self, path: Path) -> None:
        if self._run_as is not None:
            os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)

    def _prepare(self) -> None:
        """Create the directory, the data directory (initdb) and the config include."""
        if os.geteuid() == 0 and self._run_as is None:
            self._run_as = _ensure_system_user()
        if self._base_dir is None:
            self._base_dir = Path(
                tempfile.mkdtemp(
                    prefix="colonies-pg-", dir=_scratch_parent(root=bool(self._run_as))
                )
            )
        else:
            self._base_dir.mkdir(parents=True, exist_ok=True)
        with _registry_lock:
            _registry.add(self)
        base = self._base_dir
        if self._owns_base_dir:
            base.chmod(0o700)
        self._chown(base)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()

    def _initdb(self) -> None:
        hint = ""
        if self._run_as is not None and not self._owns_base_dir:
            hint = (
                f"\n(hint: running as root, the server runs as {PG_SYSTEM_USER!r}, which "
                f"must be able to reach {self._base_dir})"
            )
        self._run_tool(
            [
                str(self._bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "-U",
                self._user,
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            hint=hint,
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# throwaway test cluster settings\ninclude '{_CONF_NAME}'\n")

    def _write_conf(self) -> None:
        base = self._require_base_dir()
        socket_dir = str(base)
        if len(socket_dir) + len("/.s.PGSQL.65535.lock") > 100:
            socket_dir = ""  # too long for sun_path: TCP only
        settings: dict[str, object] = dict(_BASE_SETTINGS)
        settings.update(
            listen_addresses=self._host,
            port=self._port,
            unix_socket_directories=socket_dir,
        )
        settings.update(self._settings)
        conf = self.data_dir / _CONF_NAME
        conf.write_text("".join(f"{k} = {_conf_value(v)}\n" for k, v in settings.items()))
        self._chown(conf)

    def _open_log(self) -> IO[bytes]:
        if self._log_file is None or self._log_file.closed:
            self._log_file = self.log_path.open("ab")
            self._chown(self.log_path)
        return self._log_file

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _log_text(self, offset: int = 0) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        tail = self._log_text().splitlines()[-lines:]
        return "\n".join(tail) if tail else "(server log is empty)"

    def _spawn_and_wait(self, timeout: float) -> None:
        self._write_conf()
        log = self._open_log()
        log.flush()
        offset = self.log_path.stat().st_size
        uid, gid, groups = self._ids()
        try:
            proc = subprocess.Popen(
                [str(self._bindir / "postgres"), "-D", str(self.data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._require_base_dir(),
                env=self._server_env(),
                user=uid,
                group=gid,
                extra_groups=groups,
                start_new_session=True,  # no terminal signals (Ctrl-C) reach the server
            )
        except OSError as exc:
            self._close_log()
            raise PostgresClusterError(f"cannot start postgres: {exc}") from exc
        self._proc = proc
        deadline = time.monotonic() + timeout
        while True:
            rc = proc.poll()
            if rc is not None:
                self._proc = None
                self._close_log()
                new_log = self._log_text(offset)
                if not self._port_fixed and "could not bind" in new_log:
                    raise _PortInUse(f"port {self._port} taken:\n{new_log}")
                raise PostgresClusterError(
                    f"postgres exited with code {rc} while starting on "
                    f"{self._host}:{self._port}; last lines of {self.log_path}:\n"
                    f"{self._log_tail()}"
                )
            if self._postmaster_ready(proc.pid) and self._pg_isready():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise PostgresClusterError(
                    f"postgres did not accept connections on {self._host}:{self._port} within "
                    f"{timeout:.0f}s; last lines of {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(0.03)

    def _postmaster_ready(self, pid: int) -> bool:
        # postmaster.pid: line 1 is the PID, line 8 the status ("starting", "ready", ...).
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def _pg_isready(self) -> bool:
        cmd = [
            str(self._bindir / "pg_isready"),
            "-q",
            "-h",
            self._host,
            "-p",
            str(self._port),
            "-U",
            self._user,
            "-d",
            "postgres",
            "-t",
            "2",
        ]
        try:
            return subprocess.run(cmd, check=False, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def _kill_locked(self, proc: subprocess.Popen[bytes]) -> None:
        # Backends put themselves in their own sessions, so killpg() would not reach them:
        # collect them before the postmaster dies and they are re-parented.
        children = _child_pids(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        # Until they are gone they keep the old shared memory attached, and a new postmaster
        # would refuse to start on this data directory.
        _wait_gone(children, 10.0)
