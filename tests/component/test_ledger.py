"""The execution ledger: every state change recorded, chained, verifiable, tamper-evident."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import asyncpg
from click.testing import CliRunner

from colonies.cli.main import cli
from colonies.client import AsyncRpc
from colonies.crypto import recover_caller_id
from colonies.server.app import STATE_KEY
from colonies.store.db import init_connection
from colonies.store.ledger import verify
from tests.helpers import (
    DEV_SERVER_PRVKEY,
    eventually,
    make_colony,
    make_config,
    start_server,
)
from tests.helpers import function_spec as spec
from tests.support.postgres import PostgresCluster


async def seal(app) -> int:
    store = app[STATE_KEY].store
    term = await store.ticks.current_term()
    from colonies.core import utcnow

    return await store.ticks.seal_ledger(term, None, utcnow())


async def check(db_url: str):
    conn = await asyncpg.connect(db_url)
    try:
        await init_connection(conn)
        return await verify(conn)
    finally:
        await conn.close()


async def test_state_changes_are_chained_and_edits_are_detected(server, colony, db_url):
    rpc = server.rpc
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=p["processid"], out=[])
    q = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    await rpc.call("cancelprocessmsg", colony.user, processid=q["processid"])
    await rpc.call("removeprocessmsg", colony.user, processid=q["processid"])
    await seal(server.app)
    result = await check(db_url)
    assert result.ok and result.entries >= 6, result

    show = await asyncio.to_thread(
        CliRunner().invoke, cli, ["ledger", "show", "--process", p["processid"], "--db-url", db_url]
    )
    events = [line.split()[3] for line in show.output.splitlines()[1:]]  # date, time, kind, event
    assert events == ["submitted", "assigned", "closed"], show.output
    verified = await asyncio.to_thread(
        CliRunner().invoke, cli, ["ledger", "verify", "--db-url", db_url]
    )
    assert verified.exit_code == 0 and "ledger intact" in verified.output

    conn = await asyncpg.connect(db_url)
    try:
        # Someone with database access rewrites history: "closed" becomes "failed".
        await conn.execute(
            "UPDATE ledger SET event = 'failed' WHERE objectid = $1 AND event = 'closed'",
            p["processid"],
        )
        position = await conn.fetchval(
            "SELECT chain_pos FROM ledger WHERE objectid = $1 AND event = 'failed'", p["processid"]
        )
    finally:
        await conn.close()
    result = await check(db_url)
    assert not result.ok and result.broken_at == position, result
    broken = await asyncio.to_thread(
        CliRunner().invoke, cli, ["ledger", "verify", "--db-url", db_url]
    )
    assert broken.exit_code == 1 and f"broken at entry {position}" in broken.output


async def test_a_deleted_entry_breaks_the_chain(server, colony, db_url):
    for _ in range(3):
        await server.rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    await seal(server.app)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("DELETE FROM ledger WHERE chain_pos = 2")
    finally:
        await conn.close()
    result = await check(db_url)
    assert not result.ok and result.broken_at == 2


async def test_concurrent_replicas_keep_one_valid_chain_and_signed_checkpoints(db_url, server_key):
    config = make_config(db_url, server_key, server_prvkey=DEV_SERVER_PRVKEY)
    first = await start_server(config)
    second = await start_server(make_config(db_url, server_key))
    try:
        from colonies.client import AsyncRpc

        urls = [f"http://127.0.0.1:{r.addresses[0][1]}" for r, _ in (first, second)]
        async with AsyncRpc(urls[0]) as a, AsyncRpc(urls[1]) as b:
            colony = await make_colony(a, server_key)

            async def flow(rpc, n):
                for _ in range(n):
                    await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
                    p = await rpc.call(
                        "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5
                    )
                    await rpc.call("closesuccessfulmsg", colony.executor, processid=p["processid"])

            await asyncio.gather(flow(a, 40), flow(b, 40), flow(a, 40), flow(b, 40))
        await asyncio.sleep(2.5)  # the leader's ledger tick seals every second
        result = await check(db_url)
        assert result.ok and result.entries >= 160 * 3, result
        conn = await asyncpg.connect(db_url)
        try:
            unsealed = await conn.fetchval("SELECT count(*) FROM ledger WHERE chain_pos IS NULL")
            checkpoint = await conn.fetchrow(
                "SELECT chain_pos, hash, signer, signature FROM ledger_checkpoints "
                "ORDER BY chain_pos DESC LIMIT 1"
            )
        finally:
            await conn.close()
        assert unsealed == 0
        message = f"{checkpoint['chain_pos']}:{bytes(checkpoint['hash']).hex()}".encode()
        assert recover_caller_id(checkpoint["signature"], message) == checkpoint["signer"]
        assert checkpoint["signer"] == server_key.id
    finally:
        await first[0].cleanup()
        await second[0].cleanup()


async def test_statements_over_many_processes_record_one_entry_per_changed_row(db_url):
    """The ledger triggers run once per statement (011_ledger_per_statement.sql) and record
    exactly what a trigger per row did: each insert, each change of state, each delete."""
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("INSERT INTO colonies (name, colonyid) VALUES ('c', repeat('a', 64))")
        await conn.execute(
            """INSERT INTO processes (processid, colonyname, initiatorid, initiatorname,
                   executortype, prioritytime, submissiontime, spec)
               SELECT 'p' || g, 'c', 'user-' || g, 'u', 't', g, now(), '{}'::jsonb
                 FROM generate_series(1, 3) g"""
        )
        await conn.execute(
            "UPDATE processes SET state = 1, assignedexecutorid = 'e-' || processid"
            " WHERE processid IN ('p1', 'p2')"
        )
        await conn.execute("UPDATE processes SET output = '[1]'")  # no change of state
        await conn.execute("UPDATE processes SET state = 1 WHERE processid = 'p1'")  # same state
        await conn.execute("DELETE FROM processes WHERE processid IN ('p2', 'p3')")
        rows = await conn.fetch("SELECT objectid, event, state, actor FROM ledger ORDER BY seq")
    finally:
        await conn.close()
    entries = sorted((r["objectid"], r["event"], r["state"], r["actor"]) for r in rows)
    assert entries == [
        ("p1", "assigned", 1, "e-p1"),
        ("p1", "submitted", 0, "user-1"),
        ("p2", "assigned", 1, "e-p2"),
        ("p2", "removed", 1, ""),
        ("p2", "submitted", 0, "user-2"),
        ("p3", "removed", 0, ""),
        ("p3", "submitted", 0, "user-3"),
    ]


async def test_verifying_while_the_leader_seals(server, colony, db_url):
    """The chain and its head are read in one snapshot: entries sealed during a long walk are
    not taken for a chain that ends before its head (found by the chaos soak)."""
    rpc = server.rpc
    for _ in range(30):
        await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    await seal(server.app)
    conn = await asyncpg.connect(db_url)
    sealing = True

    async def keep_sealing() -> int:
        rounds = 0
        while sealing:
            await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
            rounds += bool(await seal(server.app))
        return rounds

    sealer = asyncio.create_task(keep_sealing())
    try:
        await init_connection(conn)
        results = [await verify(conn, batch=1) for _ in range(3)]  # a round trip per entry
    finally:
        sealing = False
        sealed_meanwhile = await sealer
        await conn.close()
    assert sealed_meanwhile > 0
    assert all(r.ok for r in results), results


def pg_dump(pg: PostgresCluster, dbname: str) -> str:
    """A plain SQL backup of one database (pg_dump), as an operator takes one."""
    return subprocess.run(
        [str(pg.bindir / "pg_dump"), "-h", pg.host, "-p", str(pg.port), "-U", pg.user, dbname],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


async def ledger_cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["ledger", *args])
    return result.exit_code, result.output


async def test_a_database_restored_from_an_older_backup_shows_its_gap(
    pg, server, colony, db_url, server_key
):
    """The chain of a restored database verifies (it is an earlier state), but a checkpoint
    kept outside since the backup is not in it: first the chain ends before it, then, once
    new entries are sealed over the lost positions, another entry stands at its place."""

    async def work(rpc, count: int) -> str:
        for _ in range(count):
            await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
        await seal(server.app)
        code, output = await ledger_cli("head", "--db-url", db_url)
        assert code == 0, output
        return output.splitlines()[0]  # POS:HASH (the time and signer go to stderr)

    before = await work(server.rpc, 3)
    backup = await asyncio.to_thread(pg_dump, pg, db_url.rsplit("/", 1)[1])
    after = await work(server.rpc, 4)
    assert int(after.split(":")[0]) > int(before.split(":")[0])

    restored = "r_" + uuid.uuid4().hex[:12]
    pg.create_database(restored)
    try:
        await asyncio.to_thread(pg.execute, backup, restored)
        url = pg.dsn(restored)
        code, output = await ledger_cli("verify", "--db-url", url, "--checkpoint", before)
        assert code == 0 and "1 checkpoints held" in output, output
        code, output = await ledger_cli("verify", "--db-url", url, "--checkpoint", after)
        assert code == 1 and "before the checkpoint" in output, output

        # The restored database in service: its leader seals new entries over the gap.
        runner, app = await start_server(make_config(url, server_key))
        try:
            async with AsyncRpc(f"http://127.0.0.1:{app[STATE_KEY].config.port}") as rpc:
                for _ in range(4):
                    await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
            # Once it leads (a term of its own, begun on start), a seal is not fenced off.
            await eventually(lambda: app[STATE_KEY].leadership.leading, "the restored leader")
            await seal(app)
        finally:
            await runner.cleanup()
        code, output = await ledger_cli("verify", "--db-url", url, "--checkpoint", after)
        assert code == 1 and "is not the checkpoint's" in output, output
        code, output = await ledger_cli("verify", "--db-url", url)
        assert code == 0 and "ledger intact" in output, output
    finally:
        pg.drop_database(restored)


async def test_a_malformed_checkpoint_is_refused(db_url):
    code, output = await ledger_cli("verify", "--db-url", db_url, "--checkpoint", "12:nothex")
    assert code == 1 and "<position>:<64 hex digits>" in output  # a usage error
    code, output = await ledger_cli("head", "--db-url", db_url)
    assert code == 1 and "no checkpoint yet" in output
