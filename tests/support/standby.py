"""A streaming standby of a throwaway PostgreSQL cluster, for failover drills.

Usage::

    with PostgresCluster(settings=PRIMARY_SETTINGS) as primary:
        standby = StandbyCluster(primary)      # pg_basebackup, started, streaming
        make_synchronous(primary)              # commits wait for the standby
        ...
        primary.kill()                         # the primary's host is lost
        standby.promote()                      # the standby takes writes

The standby is a :class:`PostgresCluster` whose data directory is a base backup of the primary
(``pg_basebackup -R``: it starts in recovery and streams from the primary) instead of a fresh
``initdb``; it shares the primary's binaries, its system user when root, and its throwaway
settings (copied with ``postgresql.conf``), on a port of its own. Only the standard library is
used, as in postgres.py.
"""

from __future__ import annotations

import time

from tests.support.postgres import PostgresCluster, PostgresClusterError

__all__ = ["DURABLE_SETTINGS", "StandbyCluster", "make_synchronous", "wait_streaming"]

# A primary whose acknowledged commits survive its loss: each waits for its WAL to be flushed
# locally and, once make_synchronous() named the standby, on the standby too.
DURABLE_SETTINGS: dict[str, str | int | float | bool] = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
}


class StandbyCluster(PostgresCluster):
    """A hot standby of ``primary``, started by the constructor unless ``start=False``."""

    def __init__(self, primary: PostgresCluster, *, start: bool = True) -> None:
        super().__init__(
            host=primary.host,
            user=primary.user,
            bindir=primary.bindir,
            settings=DURABLE_SETTINGS,
        )
        self.primary = primary
        if start:
            self.start()

    def _initdb(self) -> None:
        """The data directory: a base backup of the primary, set up to stream from it."""
        cmd = [
            str(self.bindir / "pg_basebackup"),
            "-h", self.primary.host,
            "-p", str(self.primary.port),
            "-U", self.primary.user,
            "-D", str(self.data_dir),
            "-R",  # standby.signal and primary_conninfo: start as a standby of the primary
            "-X", "stream",
            "-c", "fast",
            "--no-sync",
        ]  # fmt: skip
        env = self._server_env()
        env["PGCONNECT_TIMEOUT"] = "10"
        self._run_tool(cmd, env)
        if not (self.data_dir / "standby.signal").exists():
            raise PostgresClusterError("pg_basebackup -R wrote no standby.signal")

    def promote(self, timeout: float = 30.0) -> float:
        """Promote to a primary (``pg_promote``); returns the seconds it took."""
        started = time.monotonic()
        done = self.execute(f"SELECT pg_promote(true, {int(timeout)});", timeout=timeout + 10)
        if done.strip() != "t":
            raise PostgresClusterError(f"pg_promote did not finish within {timeout} s")
        return time.monotonic() - started

    def in_recovery(self) -> bool:
        return self.execute("SELECT pg_is_in_recovery();").strip() == "t"


def make_synchronous(primary: PostgresCluster) -> None:
    """Every commit on ``primary`` now waits until a standby has flushed it (any standby: there
    is one). Set after the base backup, so that the standby, once promoted, does not wait for a
    standby of its own."""
    primary.execute("ALTER SYSTEM SET synchronous_standby_names = '*';")
    primary.execute("SELECT pg_reload_conf();")


def wait_streaming(primary: PostgresCluster, synchronous: bool, timeout: float = 30.0) -> None:
    """Until the primary sees a standby streaming (as a synchronous one, if asked)."""
    wanted = "sync" if synchronous else "async"
    deadline = time.monotonic() + timeout
    while True:
        rows = primary.execute("SELECT state || ' ' || sync_state FROM pg_stat_replication;")
        if f"streaming {wanted}" in rows.split("\n"):
            return
        if time.monotonic() > deadline:
            raise PostgresClusterError(
                f"no {wanted} standby streaming from {primary.host}:{primary.port} within "
                f"{timeout} s (pg_stat_replication: {rows.strip() or 'empty'})"
            )
        time.sleep(0.1)
