"""``colonies ledger``: verify the execution ledger's hash chain, show a process's history.

These read PostgreSQL directly (an operator's tools): the point is to check the database itself,
without trusting a server. The database comes from COLONIES_DB_URL or COLONIES_DB_HOST/... .
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from colonies.cli._output import Column, emit, output_options, when


def _db_url(db_url: str | None) -> str:
    if db_url:
        return db_url
    from colonies.config import ConfigError, ServerConfig

    try:
        return ServerConfig.from_env().db_url
    except ConfigError as exc:
        click.echo(f"error: {exc} (colonies dev writes COLONIES_DB_URL into its dev.env)", err=True)
        sys.exit(1)


def _with_connection(url: str, work: Any) -> Any:
    """Run ``work(connection)``; a database that cannot be reached or read is one line on
    stderr and exit status 1."""
    from colonies.store.db import single_connection
    from colonies.store.errors import store_error

    async def run() -> Any:
        async with single_connection(url) as conn:
            return await work(conn)

    try:
        return asyncio.run(run())
    except Exception as exc:
        error = store_error(exc)
        if error is None:
            raise
        click.echo(f"error: cannot read the database: {error}", err=True)
        sys.exit(1)


db_option = click.option("--db-url", help="PostgreSQL URL [COLONIES_DB_URL].")


@click.group()
def ledger() -> None:
    """The tamper-evident execution ledger (reads the database directly)."""


def _parse_checkpoints(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[Any]:
    from colonies.store.ledger import Checkpoint

    try:
        return [Checkpoint.parse(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@ledger.command("verify")
@db_option
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    callback=_parse_checkpoints,
    metavar="POS:HASH",
    help="A checkpoint copied elsewhere (colonies ledger head): the chain must still hold it. "
    "Repeatable.",
)
def ledger_verify(db_url: str | None, checkpoints: list[Any]) -> None:
    """Walk the hash chain; report the first broken link (exit 1) or that it holds. With
    --checkpoint, also that the chain still holds each checkpoint (a restored or rewritten
    database does not)."""
    from colonies.store.ledger import check_checkpoint, verify

    async def work(conn: Any) -> tuple[Any, list[tuple[Any, str | None]]]:
        result = await verify(conn)
        return result, [(c, await check_checkpoint(conn, c)) for c in checkpoints]

    result, held = _with_connection(_db_url(db_url), work)
    if not result.ok:
        click.echo(f"ledger broken at entry {result.broken_at}: {result.reason}", err=True)
        sys.exit(1)
    lost = [(c, problem) for c, problem in held if problem is not None]
    for checkpoint, problem in lost:
        click.echo(f"checkpoint {checkpoint.chain_pos} not held: {problem}", err=True)
    if lost:
        sys.exit(1)
    click.echo(
        f"ledger intact: {result.entries} entries"
        + (f", {len(held)} checkpoints held" if held else "")
    )


@ledger.command("head")
@db_option
def ledger_head(db_url: str | None) -> None:
    """The newest checkpoint as POS:HASH (to keep outside the database, for verify
    --checkpoint), with its time and signer."""
    from colonies.store.ledger import Checkpoint, latest_checkpoint

    row = _with_connection(_db_url(db_url), latest_checkpoint)
    if row is None:
        click.echo(
            "error: no checkpoint yet (the leader writes one once it seals entries)", err=True
        )
        sys.exit(1)
    click.echo(str(Checkpoint(int(row["chain_pos"]), bytes(row["hash"]))))
    click.echo(f"time {when(row['ts'])}, signer {row['signer'] or '(none)'}", err=True)


HISTORY_COLUMNS: list[Column] = [
    ("TIME", lambda r: when(r["ts"])),
    ("KIND", lambda r: r["kind"]),
    ("EVENT", lambda r: r["event"]),
    ("STATE", lambda r: r["state"]),
    ("ACTOR", lambda r: r["actor"]),
    ("CHAIN POS", lambda r: r["chain_pos"] if r["chain_pos"] is not None else "(unsealed)"),
]


@ledger.command("show")
@click.option("--process", "objectid", required=True, help="A process or workflow ID.")
@db_option
@output_options
def ledger_show(objectid: str, db_url: str | None, output: str, no_headers: bool) -> None:
    """Every recorded state change of a process or workflow, oldest first."""
    from colonies.store.ledger import history

    rows = _with_connection(_db_url(db_url), lambda c: history(c, objectid))
    emit([dict(r) for r in rows], HISTORY_COLUMNS, output, no_headers)
