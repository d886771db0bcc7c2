"""Identities: ``executor create`` (a new key, registered at once), ``colony check``, and the
four ID rotations (``colony|executor|user|server chid``), added to the groups of admin.py."""

from __future__ import annotations

import os
from pathlib import Path

import click

from colonies.cli._common import (
    COLONY_OWNER,
    EXECUTOR,
    MEMBER,
    SERVER_OWNER,
    Env,
    colony_key_option,
    errors,
    fail,
    pass_env,
    server_key_option,
)
from colonies.cli._output import emit, output_option
from colonies.cli.admin import EXECUTOR_COLUMNS, colony, executor, server, user
from colonies.client import ColoniesError
from colonies.core import Executor
from colonies.crypto import generate_private_key, parse_private_key


# --- executor create --------------------------------------------------------------------------
def _write_secret(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only (a private key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


@executor.command("create", epilog=COLONY_OWNER)
@click.option("--name", required=True, help="Executor name.")
@click.option("--type", "executortype", required=True, help="Executor type processes ask for.")
@click.option("--location", default="", help="Location name.")
@click.option(
    "--scheme", type=click.Choice(["ed25519", "secp256k1"]), default="ed25519", show_default=True,
    help="secp256k1 for an executor written with pycolonies or the Go SDK.",
)  # fmt: skip
@click.option("--approve", is_flag=True, help="Approve it too: it may take work at once.")
@click.option(
    "--keypath", type=click.Path(dir_okay=False, path_type=Path),
    help="Write the private key to this file (mode 0600) instead of printing it.",
)  # fmt: skip
@click.option(
    "--idpath", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the executor's ID to this file.",
)  # fmt: skip
@colony_key_option
@output_option
@pass_env
@errors
def executor_create(
    env: Env,
    name: str,
    executortype: str,
    location: str,
    scheme: str,
    approve: bool,
    keypath: Path | None,
    idpath: Path | None,
    colony_key: str | None,
    output: str,
) -> None:
    """Make a new key for an executor and register it (approved with --approve).

    The private key is printed once (or written to --keypath): give it to the executor as
    COLONIES_PRVKEY; it is not stored anywhere else.
    """
    key = generate_private_key(scheme)
    new = Executor(
        executorid=key.id,
        executorname=name,
        executortype=executortype,
        colonyname=env.colony(),
        locationname=location,
    )
    with env.client("colony", colony_key) as client:
        added = client.add_executor(new)
        if approve:
            client.approve_executor(new.colonyname, name)
            added = client.get_executor(new.colonyname, name, key=key)
    if keypath is not None:
        _write_secret(keypath, key.text)
    if idpath is not None:
        idpath.write_text(key.id + "\n")
    if output != "table":
        emit(added, EXECUTOR_COLUMNS, output)
        if keypath is None:
            click.echo(f"PrvKey: {key.text}", err=True)  # stdout stays one JSON document
        return
    emit(added, EXECUTOR_COLUMNS, output)
    click.echo()
    if keypath is None:
        click.echo(f"PrvKey: {key.text}")
    else:
        click.echo(f"private key written to {keypath}")
    click.echo(f"Id: {key.id}")
    click.echo("Run the executor with COLONIES_PRVKEY set to this key (shown only now).")


# --- colony check -----------------------------------------------------------------------------
@colony.command("check", epilog=MEMBER)
@click.option("--name", help="Colony name [COLONIES_COLONY_NAME].")
@pass_env
@errors
def colony_check(env: Env, name: str | None) -> None:
    """Exit 0 when the colony exists and your key may read it, else 1 with the reason."""
    target = name or env.colony()
    with env.client() as client:
        try:
            client.get_colony(target)
        except ColoniesError as exc:
            fail(f"colony {target}: {exc.message} (status {exc.status})")
    click.echo(f"colony {target} exists")


# --- ID rotations -----------------------------------------------------------------------------
def _new_id(new_id: str | None, new_key: str | None, what: str) -> str:
    if bool(new_id) == bool(new_key):
        raise click.UsageError(f"give the new {what} ID or --new-key (one of them)")
    if new_key:
        try:
            return parse_private_key(new_key).id
        except ValueError as exc:
            fail(f"invalid private key in --new-key: {exc}")
    assert new_id is not None
    if len(new_id) != 64 or any(c not in "0123456789abcdef" for c in new_id.lower()):
        fail(f"invalid {what} ID: 64 hexadecimal characters expected")
    return new_id.lower()


new_key_option = click.option(
    "--new-key", help="Or the new private key: its ID is derived (the key is not sent)."
)
_AFTER = "from now on sign with the new key"


@colony.command("chid", epilog=COLONY_OWNER)
@click.option("--colonyid", "new_id", help="The colony owner's new ID.")
@new_key_option
@colony_key_option
@pass_env
@errors
def colony_chid(env: Env, new_id: str | None, new_key: str | None, colony_key: str | None) -> None:
    """Give the colony a new owner ID (signed with the current owner's key)."""
    target = _new_id(new_id, new_key, "colony")
    with env.client("colony", colony_key) as client:
        client.change_colony_id(env.colony(), target)
    click.echo(f"colony {env.colony()} now owned by {target}; {_AFTER} (COLONIES_COLONY_PRVKEY)")


@executor.command("chid", epilog=EXECUTOR)
@click.option("--executorid", "new_id", help="The executor's new ID.")
@new_key_option
@pass_env
@errors
def executor_chid(env: Env, new_id: str | None, new_key: str | None) -> None:
    """Give the calling executor a new ID (signed with its current key, COLONIES_PRVKEY)."""
    target = _new_id(new_id, new_key, "executor")
    with env.client() as client:
        client.change_executor_id(env.colony(), target)
    click.echo(f"executor ID changed to {target}; {_AFTER} (COLONIES_PRVKEY)")


@user.command("chid", epilog=MEMBER)
@click.option("--userid", "new_id", help="Your new user ID.")
@new_key_option
@pass_env
@errors
def user_chid(env: Env, new_id: str | None, new_key: str | None) -> None:
    """Give yourself (a user) a new ID (signed with your current key, COLONIES_PRVKEY)."""
    target = _new_id(new_id, new_key, "user")
    with env.client() as client:
        client.change_user_id(env.colony(), target)
    click.echo(f"user ID changed to {target}; {_AFTER} (COLONIES_PRVKEY)")


@server.command("chid", epilog=SERVER_OWNER)
@click.option("--serverid", "new_id", help="The server owner's new ID.")
@new_key_option
@server_key_option
@pass_env
@errors
def server_chid(env: Env, new_id: str | None, new_key: str | None, server_key: str | None) -> None:
    """Give the server a new owner ID (signed with the current server owner's key)."""
    target = _new_id(new_id, new_key, "server")
    with env.client("server", server_key) as client:
        client.change_server_id(target)
    click.echo(f"server owner ID changed to {target}; {_AFTER} (COLONIES_SERVER_PRVKEY)")
