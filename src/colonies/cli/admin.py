"""Identities and administration: security, server status, colonies, executors, users."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
import msgspec

from colonies.cli._common import (
    ANONYMOUS,
    COLONY_OWNER,
    MEMBER,
    SERVER_OWNER,
    Env,
    colony_key_option,
    describe,
    errors,
    fail,
    pass_env,
    server_key_option,
)
from colonies.cli._output import (
    Column,
    dump,
    emit,
    output_option,
    output_options,
    table,
    when,
)
from colonies.core import Colony, Executor, ExecutorState, Statistics, User
from colonies.crypto import generate_private_key

COLONY_COLUMNS: list[Column] = [("NAME", lambda c: c.name), ("COLONYID", lambda c: c.colonyid)]
EXECUTOR_STATES = {s.value: s.name for s in ExecutorState}
EXECUTOR_COLUMNS: list[Column] = [
    ("NAME", lambda e: e.executorname),
    ("TYPE", lambda e: e.executortype),
    ("STATE", lambda e: EXECUTOR_STATES.get(e.state, e.state)),
    ("LOCATION", lambda e: e.locationname),
    ("LAST HEARD", lambda e: when(e.lastheardfromtime)),
    ("EXECUTORID", lambda e: e.executorid),
]
USER_COLUMNS: list[Column] = [
    ("NAME", lambda u: u.name),
    ("EMAIL", lambda u: u.email),
    ("PHONE", lambda u: u.phone),
    ("USERID", lambda u: u.userid),
]
_STAT_STATES = ("waiting", "running", "successful", "failed", "cancelled")


def emit_statistics(stats: Statistics, output: str, no_headers: bool, server: bool) -> None:
    """Process and workflow counts by state as a table (every count; JSON has them all too)."""
    if output != "table":
        dump(stats, output)
        return
    rows = [
        [kind, *(str(getattr(stats, f"{state}{kind}")) for state in _STAT_STATES)]
        for kind in ("processes", "workflows")
    ]
    table(rows, None if no_headers else ["KIND", *(s.upper() for s in _STAT_STATES)])
    click.echo(f"executors: {stats.executors} (active {stats.activeexecutors})")
    if server:
        click.echo(f"colonies: {stats.colonies}")


# --- security ---------------------------------------------------------------------------------
@click.group()
def security() -> None:
    """Keys and IDs: generate a key, derive the ID of one (offline)."""


@security.command("generate")
@click.option(
    "--scheme", type=click.Choice(["ed25519", "secp256k1"]), default="ed25519", show_default=True,
    help="secp256k1 for keys that pycolonies and the Go SDK must also use.",
)  # fmt: skip
def security_generate(scheme: str) -> None:
    """Make a new private key; prints it, its public key and its ID (keep the key secret).

    Works offline. Give the ID to whoever registers you (colony add --colonyid, executor add
    --executorid, user add --userid); keep the key in COLONIES_PRVKEY.
    """
    key = generate_private_key(scheme)
    click.echo(f"PrvKey: {key.text}")
    click.echo(f"PubKey: {key.public_hex}")
    click.echo(f"Id: {key.id}")


@security.command("id", epilog="Reads COLONIES_PRVKEY (or the root --key) when --key is not given.")
@click.option("--key", "key_text", help="A private key [COLONIES_PRVKEY].")
@pass_env
def security_id(env: Env, key_text: str | None) -> None:
    """The ID of a private key (works offline)."""
    click.echo(env.key("user", key_text).id)


@security.command("libp2p-identity")
def security_libp2p_identity() -> None:
    """Make a new LibP2P identity for a server; prints it and its peer ID (works offline).

    Keep the identity secret, in COLONIES_SERVER_LIBP2P_IDENTITY (hex of a marshalled Ed25519
    key, the format of upstream's server): the server's peer ID, which clients dial, stays the
    same across restarts and replicas.
    """
    from colonies.p2p import new_identity, peer_id

    identity = new_identity()
    click.echo(f"Identity: {identity}")
    click.echo(f"PeerId: {peer_id(identity)}")


# --- server -----------------------------------------------------------------------------------
@click.group()
def server() -> None:
    """Run and inspect a server: start, status, stats, alive."""


STATUS_COLUMNS: list[Column] = [
    ("SERVER", lambda s: s["server"]),
    ("VERSION", lambda s: s["version"].get("buildversion", "")),
    ("BUILT", lambda s: s["version"].get("buildtime", "")),
    ("HEALTH", lambda s: "ok" if s["health"] else "unhealthy"),
    ("BACKENDS", lambda s: ", ".join(
        f"{b.get('type', '')} {b.get('host', '')}:{b.get('port', '')}"
        for b in s["serverinfo"]["backends"]
    )),
]  # fmt: skip


async def _status(env: Env) -> dict[str, Any]:
    async with env.async_client(None) as client:
        version = await client.version()
        info = await client.server_info()
        healthy = await client.health()
    return {
        "server": env.url,
        "version": version,
        "serverinfo": msgspec.to_builtins(info),
        "health": healthy,
    }


@server.command("status", epilog=ANONYMOUS)
@output_options
@pass_env
@errors
def server_status(env: Env, output: str, no_headers: bool) -> None:
    """Version, backends and health of the server (versionmsg, getserverinfomsg, /health)."""
    emit(asyncio.run(_status(env)), STATUS_COLUMNS, output, no_headers)


@server.command("stats", epilog=SERVER_OWNER)
@server_key_option
@output_options
@pass_env
@errors
def server_stats(env: Env, server_key: str | None, output: str, no_headers: bool) -> None:
    """Counts over every colony (server owner)."""
    with env.client("server", server_key) as client:
        emit_statistics(client.statistics(), output, no_headers, server=True)


async def _alive(env: Env) -> bool:
    async with env.async_client(None) as client:
        return await client.health(timeout=3)


@server.command("alive", epilog=ANONYMOUS)
@pass_env
def server_alive(env: Env) -> None:
    """Exit 0 when the server answers GET /health, else 1 (for scripts and probes)."""
    try:
        ok = asyncio.run(_alive(env))
        reason = "unhealthy"
    except Exception as exc:
        reason = describe(exc, env.url) or repr(exc)
        ok = False
    if ok:
        click.echo(f"alive: {env.url}")
        sys.exit(0)
    click.echo(f"not alive: {reason}", err=True)
    sys.exit(1)


@click.group()
def cluster() -> None:
    """The server fleet."""


@cluster.command("info", epilog=SERVER_OWNER)
@server_key_option
@output_options
@pass_env
@errors
def cluster_info(env: Env, server_key: str | None, output: str, no_headers: bool) -> None:
    """Live replicas and the leader (server owner)."""
    with env.client("server", server_key) as client:
        info = client.cluster()
    if output == "json":
        emit(info, [], output)
        return
    columns: list[Column] = [
        ("NAME", lambda n: n.name),
        ("HOST", lambda n: n.host),
        ("API PORT", lambda n: n.apiport),
        ("LEADER", lambda n: "*" if n.name == info.leader.name else ""),
    ]
    emit(info.nodes, columns, output, no_headers)


# --- colonies ---------------------------------------------------------------------------------
@click.group()
def colony() -> None:
    """Colonies (server owner), their details and statistics (members)."""


@colony.command("add", epilog=SERVER_OWNER)
@click.option("--name", required=True, help="Colony name.")
@click.option("--colonyid", required=True, help="The owner's ID (colonies security id).")
@server_key_option
@output_option
@pass_env
@errors
def colony_add(env: Env, name: str, colonyid: str, server_key: str | None, output: str) -> None:
    """Add a colony owned by COLONYID."""
    with env.client("server", server_key) as client:
        emit(client.add_colony(Colony(colonyid=colonyid, name=name)), COLONY_COLUMNS, output)


@colony.command("remove", epilog=SERVER_OWNER)
@click.option("--name", required=True, help="Colony name.")
@server_key_option
@pass_env
@errors
def colony_remove(env: Env, name: str, server_key: str | None) -> None:
    """Remove a colony and everything in it."""
    with env.client("server", server_key) as client:
        client.remove_colony(name)
    click.echo(f"colony {name} removed")


@colony.command("ls", epilog=SERVER_OWNER)
@server_key_option
@output_options
@pass_env
@errors
def colony_ls(env: Env, server_key: str | None, output: str, no_headers: bool) -> None:
    """List colonies (server owner)."""
    with env.client("server", server_key) as client:
        emit(client.get_colonies(), COLONY_COLUMNS, output, no_headers)


@colony.command("get", epilog=MEMBER)
@output_options
@pass_env
@errors
def colony_get(env: Env, output: str, no_headers: bool) -> None:
    """The colony (--colony / COLONIES_COLONY_NAME)."""
    with env.client() as client:
        emit(client.get_colony(env.colony()), COLONY_COLUMNS, output, no_headers)


@colony.command("stats", epilog=MEMBER)
@output_options
@pass_env
@errors
def colony_stats(env: Env, output: str, no_headers: bool) -> None:
    """Process and workflow counts of the colony."""
    with env.client() as client:
        emit_statistics(client.colony_statistics(env.colony()), output, no_headers, server=False)


# --- executors --------------------------------------------------------------------------------
@click.group()
def executor() -> None:
    """Executors: register and approve (colony owner), list and inspect (members)."""


@executor.command("add", epilog=COLONY_OWNER)
@click.option("--name", required=True, help="Executor name.")
@click.option("--type", "executortype", required=True, help="Executor type processes ask for.")
@click.option("--executorid", help="The executor's ID (colonies security id).")
@click.option(
    "--key", "--executor-key", "executor_key",
    help="Or the executor's private key: its ID is derived [else COLONIES_PRVKEY].",
)  # fmt: skip
@click.option("--location", default="", help="Location name.")
@colony_key_option
@output_option
@pass_env
@errors
def executor_add(
    env: Env,
    name: str,
    executortype: str,
    executorid: str | None,
    executor_key: str | None,
    location: str,
    colony_key: str | None,
    output: str,
) -> None:
    """Register an executor in the colony (it starts PENDING until approved)."""
    if executorid is None:
        executorid = env.key("user", executor_key, "--key").id
    new = Executor(
        executorid=executorid,
        executorname=name,
        executortype=executortype,
        colonyname=env.colony(),
        locationname=location,
    )
    with env.client("colony", colony_key) as client:
        emit(client.add_executor(new), EXECUTOR_COLUMNS, output)


def _executor_state_command(verb: str, method: str) -> click.Command:
    @click.option("--name", required=True, help="Executor name.")
    @colony_key_option
    @pass_env
    @errors
    def command(env: Env, name: str, colony_key: str | None) -> None:
        with env.client("colony", colony_key) as client:
            getattr(client, method)(env.colony(), name)
        click.echo(f"executor {name} {verb}")

    command.__doc__ = f"{method.split('_')[0].capitalize()} an executor of the colony."
    return click.command(epilog=COLONY_OWNER)(command)


executor.add_command(_executor_state_command("approved", "approve_executor"), "approve")
executor.add_command(_executor_state_command("rejected", "reject_executor"), "reject")
executor.add_command(_executor_state_command("removed", "remove_executor"), "remove")


@executor.command("ls", epilog=MEMBER)
@output_options
@pass_env
@errors
def executor_ls(env: Env, output: str, no_headers: bool) -> None:
    """List the colony's executors."""
    with env.client() as client:
        emit(client.get_executors(env.colony()), EXECUTOR_COLUMNS, output, no_headers)


@executor.command("get", epilog=MEMBER)
@click.option("--name", required=True, help="Executor name.")
@output_options
@pass_env
@errors
def executor_get(env: Env, name: str, output: str, no_headers: bool) -> None:
    """One executor of the colony."""
    with env.client() as client:
        emit(client.get_executor(env.colony(), name), EXECUTOR_COLUMNS, output, no_headers)


# --- users ------------------------------------------------------------------------------------
@click.group()
def user() -> None:
    """Users of a colony: add and remove (colony owner), list and inspect."""


@user.command("add", epilog=COLONY_OWNER)
@click.option("--name", required=True, help="User name.")
@click.option("--userid", help="The user's ID (colonies security id).")
@click.option("--user-key", help="Or the user's private key: its ID is derived.")
@click.option("--email", default="", help="Contact e-mail.")
@click.option("--phone", default="", help="Contact phone.")
@colony_key_option
@output_option
@pass_env
@errors
def user_add(
    env: Env,
    name: str,
    userid: str | None,
    user_key: str | None,
    email: str,
    phone: str,
    colony_key: str | None,
    output: str,
) -> None:
    """Add a user to the colony."""
    if userid is None:
        if not user_key:
            fail("give --userid (colonies security id) or --user-key")
        userid = env.key("user", user_key, "--user-key").id
    new = User(colonyname=env.colony(), userid=userid, name=name, email=email, phone=phone)
    with env.client("colony", colony_key) as client:
        emit(client.add_user(new), USER_COLUMNS, output)


@user.command("remove", epilog=COLONY_OWNER)
@click.option("--name", required=True, help="User name.")
@colony_key_option
@pass_env
@errors
def user_remove(env: Env, name: str, colony_key: str | None) -> None:
    """Remove a user."""
    with env.client("colony", colony_key) as client:
        client.remove_user(env.colony(), name)
    click.echo(f"user {name} removed")


@user.command("ls", epilog=MEMBER)
@output_options
@pass_env
@errors
def user_ls(env: Env, output: str, no_headers: bool) -> None:
    """List the colony's users."""
    with env.client() as client:
        emit(client.get_users(env.colony()), USER_COLUMNS, output, no_headers)


@user.command("get", epilog=MEMBER)
@click.option("--name", required=True, help="User name.")
@output_options
@pass_env
@errors
def user_get(env: Env, name: str, output: str, no_headers: bool) -> None:
    """One user of the colony."""
    with env.client() as client:
        emit(client.get_user(env.colony(), name), USER_COLUMNS, output, no_headers)
