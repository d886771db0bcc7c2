"""``colonies blueprint``: declarative services and their definitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from colonies.cli._common import Env, colony_key_option, errors, fail, pass_env
from colonies.cli._output import Column, emit, no_headers_option, output_option, when
from colonies.core import Blueprint, BlueprintDefinition
from colonies.core.wire import DecodeError, decode

BLUEPRINT_COLUMNS: list[Column] = [
    ("NAME", lambda b: b.metadata.name),
    ("KIND", lambda b: b.kind),
    ("LOCATION", lambda b: b.metadata.locationname),
    ("GENERATION", lambda b: b.metadata.generation),
    ("READY", lambda b: b.status.get("ready", "")),
    ("UPDATED", lambda b: when(b.metadata.updatedAt)),
]
DEFINITION_COLUMNS: list[Column] = [
    ("NAME", lambda d: d.metadata.name),
    ("KIND", lambda d: d.spec.names.kind),
    ("HANDLER", lambda d: d.spec.handler.executorType),
    ("FUNCTION", lambda d: d.spec.handler.functionName),
]
HISTORY_COLUMNS: list[Column] = [
    ("TIME", lambda h: when(h.timestamp)),
    ("CHANGE", lambda h: h.changetype),
    ("GENERATION", lambda h: h.generation),
    ("BY", lambda h: h.changedby[:12]),
    ("SPEC", lambda h: json.dumps(h.spec)),
]
spec_option = click.option(
    "--spec", "spec_file", required=True, type=click.Path(exists=True, dir_okay=False),
    help="A JSON file with the object, as the API shows it.",
)  # fmt: skip


def _load(path: str, tp: Any, colony: str) -> Any:
    try:
        obj = decode(Path(path).read_bytes(), tp)
    except DecodeError as exc:
        fail(f"{path}: {exc}")
    if not obj.metadata.colonyname:
        obj.metadata.colonyname = colony
    return obj


@click.group()
def blueprint() -> None:
    """Blueprints: declared state that reconcilers keep true."""


@blueprint.command("add")
@spec_option
@output_option
@pass_env
@errors
def blueprint_add(env: Env, spec_file: str, output: str) -> None:
    """Add a blueprint (a reconcile process is submitted at once)."""
    with env.client() as client:
        emit(
            client.add_blueprint(_load(spec_file, Blueprint, env.colony())),
            BLUEPRINT_COLUMNS,
            output,
        )


@blueprint.command("update")
@spec_option
@click.option("--force", is_flag=True, help="Bump the generation even if the spec is unchanged.")
@output_option
@pass_env
@errors
def blueprint_update(env: Env, spec_file: str, force: bool, output: str) -> None:
    """Replace a blueprint's spec from a file."""
    with env.client() as client:
        updated = client.update_blueprint(_load(spec_file, Blueprint, env.colony()), force)
    emit(updated, BLUEPRINT_COLUMNS, output)


@blueprint.command("set")
@click.option("--name", required=True)
@click.option("--path", required=True, help="A dotted path in the spec, e.g. replicas")
@click.option("--value", required=True, help="JSON, or a plain string.")
@output_option
@pass_env
@errors
def blueprint_set(env: Env, name: str, path: str, value: str, output: str) -> None:
    """Change one value of a blueprint's spec."""
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    with env.client() as client:
        current = client.get_blueprint(env.colony(), name)
        node = current.spec
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = parsed
        emit(client.update_blueprint(current), BLUEPRINT_COLUMNS, output)


@blueprint.command("get")
@click.option("--name", required=True)
@output_option
@no_headers_option
@pass_env
@errors
def blueprint_get(env: Env, name: str, output: str, no_headers: bool) -> None:
    """One blueprint (JSON shows spec and status)."""
    with env.client() as client:
        emit(client.get_blueprint(env.colony(), name), BLUEPRINT_COLUMNS, output, no_headers)


@blueprint.command("ls")
@click.option("--kind", default="")
@click.option("--location", default="")
@output_option
@no_headers_option
@pass_env
@errors
def blueprint_ls(env: Env, kind: str, location: str, output: str, no_headers: bool) -> None:
    """List blueprints, optionally of one kind and location."""
    with env.client() as client:
        found = client.get_blueprints(env.colony(), kind, location)
    emit(found, BLUEPRINT_COLUMNS, output, no_headers)


@blueprint.command("remove")
@click.option("--name", required=True)
@pass_env
@errors
def blueprint_remove(env: Env, name: str) -> None:
    """Remove a blueprint (its reconciler gets a cleanup process)."""
    with env.client() as client:
        client.remove_blueprint(env.colony(), name)
    click.echo(f"blueprint {name} removed")


@blueprint.command("reconcile")
@click.option("--name", required=True)
@click.option("--force", is_flag=True, help="Bump the generation and force a full reconcile.")
@output_option
@pass_env
@errors
def blueprint_reconcile(env: Env, name: str, force: bool, output: str) -> None:
    """Submit a reconcile process now; prints it."""
    from colonies.cli.work import PROCESS_COLUMNS

    with env.client() as client:
        emit(client.reconcile_blueprint(env.colony(), name, force), PROCESS_COLUMNS, output)


@blueprint.command("history")
@click.option("--name", required=True)
@click.option("--limit", type=int, default=20, show_default=True)
@output_option
@no_headers_option
@pass_env
@errors
def blueprint_history(env: Env, name: str, limit: int, output: str, no_headers: bool) -> None:
    """Changes of a blueprint, newest first."""
    with env.client() as client:
        found = client.get_blueprint(env.colony(), name)
        emit(
            client.get_blueprint_history(found.blueprintid, limit),
            HISTORY_COLUMNS,
            output,
            no_headers,
        )


@blueprint.group()
def definition() -> None:
    """Blueprint definitions (kinds): add and remove as the colony owner."""


@definition.command("add")
@spec_option
@colony_key_option
@output_option
@pass_env
@errors
def definition_add(env: Env, spec_file: str, colony_key: str | None, output: str) -> None:
    """Add a blueprint definition (a kind, its schema and its handler)."""
    d = _load(spec_file, BlueprintDefinition, env.colony())
    with env.client("colony", colony_key) as client:
        emit(client.add_blueprint_definition(d), DEFINITION_COLUMNS, output)


@definition.command("get")
@click.option("--name", required=True)
@output_option
@no_headers_option
@pass_env
@errors
def definition_get(env: Env, name: str, output: str, no_headers: bool) -> None:
    """One definition."""
    with env.client() as client:
        found = client.get_blueprint_definition(env.colony(), name)
    emit(found, DEFINITION_COLUMNS, output, no_headers)


@definition.command("ls")
@output_option
@no_headers_option
@pass_env
@errors
def definition_ls(env: Env, output: str, no_headers: bool) -> None:
    """List definitions."""
    with env.client() as client:
        emit(client.get_blueprint_definitions(env.colony()), DEFINITION_COLUMNS, output, no_headers)


@definition.command("remove")
@click.option("--name", required=True)
@colony_key_option
@pass_env
@errors
def definition_remove(env: Env, name: str, colony_key: str | None) -> None:
    """Remove a definition no blueprint uses."""
    with env.client("colony", colony_key) as client:
        client.remove_blueprint_definition(env.colony(), name)
    click.echo(f"blueprint definition {name} removed")
