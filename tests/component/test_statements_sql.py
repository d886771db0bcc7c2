"""Every statement of the store, printed whole by name, is valid for the real PostgreSQL: each
is prepared (parsed, typed and planned for its parameters) against the migrated schema, so a
broken fragment or a statement that names a missing column fails here."""

from __future__ import annotations

import asyncpg

from colonies.store.db import init_connection
from colonies.store.statements import every_statement


async def test_every_statement_prepares_against_the_migrated_schema(db_url):
    statements = every_statement()
    assert len(statements) > 150  # every module's, not a few
    conn = await asyncpg.connect(db_url)
    await init_connection(conn)
    broken: list[str] = []
    try:
        for name, statement in statements.items():
            try:
                prepared = await conn.prepare(statement.sql)
            except asyncpg.PostgresError as exc:
                broken.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            if len(prepared.get_parameters()) != len(statement.params):
                broken.append(f"{name}: PostgreSQL sees {len(prepared.get_parameters())} params")
    finally:
        await conn.close()
    assert not broken, "\n".join(broken)


async def test_a_broken_statement_fails_to_prepare(db_url):
    """The check above can fail: a misspelt column is refused at prepare time."""
    conn = await asyncpg.connect(db_url)
    try:
        sql = every_statement()["processes.reads.GET"].sql.replace("p.retries", "p.retriez")
        try:
            await conn.prepare(sql)
        except asyncpg.UndefinedColumnError:
            pass
        else:
            raise AssertionError("a statement naming a missing column was prepared")
    finally:
        await conn.close()


# The statements whose rows become processes (to_process), beside the columns they add.
PROCESS_ROWS = {
    "processes.reads.GET": set(),
    "processes.reads.LIST_BY_PRIORITY": set(),
    "processes.reads.LIST_BY_START": set(),
    "processes.reads.LIST_BY_END": set(),
    "processes.reads.HISTORY": set(),
    "processes.claims.CLAIM_ONE": {"admitted", "pg_notify"},
    "processes.claims.CLAIM_MANY": {"claim_n", "admitted", "pg_notify"},
}


async def test_statements_that_return_processes_return_the_same_columns(db_url):
    """The process columns are written out in each statement that returns processes: they
    must not drift apart."""
    statements = every_statement()
    conn = await asyncpg.connect(db_url)
    try:
        columns = {}
        for name, extra in PROCESS_ROWS.items():
            prepared = await conn.prepare(statements[name].sql)
            names = [a.name for a in prepared.get_attributes()]
            assert len(names) == len(set(names)), name
            columns[name] = set(names) - extra
    finally:
        await conn.close()
    expected = columns["processes.reads.GET"]
    assert {"processid", "state", "spec", "attributes", "errors"} <= expected
    for name, found in columns.items():
        assert found == expected, (name, found ^ expected)
