"""``colonies blueprint``: declarative services and their definitions."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from colonies.cli._common import MEMBER, Env, colony_key_option, errors, fail, pass_env
from colonies.cli._output import (
    Column,
    dump,
    emit,
    output_option,
    output_options,
    when,
)
from colonies.client import Client, ColoniesError
from colonies.core import (
    Blueprint,
    BlueprintDefinition,
    Executor,
    ExecutorState,
    Log,
    ProcessState,
    utcnow,
)
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
@output_options
@pass_env
@errors
def blueprint_get(env: Env, name: str, output: str, no_headers: bool) -> None:
    """One blueprint (JSON shows spec and status)."""
    with env.client() as client:
        emit(client.get_blueprint(env.colony(), name), BLUEPRINT_COLUMNS, output, no_headers)


@blueprint.command("ls")
@click.option("--kind", default="")
@click.option("--location", default="")
@output_options
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
    from colonies.cli.process import PROCESS_COLUMNS

    with env.client() as client:
        emit(client.reconcile_blueprint(env.colony(), name, force), PROCESS_COLUMNS, output)


@blueprint.command("history")
@click.option("--name", required=True)
@click.option("--limit", type=int, default=20, show_default=True)
@output_options
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
@output_options
@pass_env
@errors
def definition_get(env: Env, name: str, output: str, no_headers: bool) -> None:
    """One definition."""
    with env.client() as client:
        found = client.get_blueprint_definition(env.colony(), name)
    emit(found, DEFINITION_COLUMNS, output, no_headers)


@definition.command("ls")
@output_options
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


# --- doctor and log ---------------------------------------------------------------------------
#: A reconciler not heard from for this long may be gone (it polls every few seconds).
_SILENT_SECONDS = 120


@dataclass
class Finding:
    level: str  # OK, WARN, ERROR, FIXED
    message: str


def _reconcile_cron(kind: str, location: str) -> str:
    """The cron the server keeps for a kind at a location (docs/protocol.md §7.14)."""
    return f"reconcile-{kind}-{location}" if location else f"reconcile-{kind}"


def _reconcilers(executors: list[Executor], executortype: str, location: str) -> list[Executor]:
    return [
        e
        for e in executors
        if e.executortype == executortype
        and e.state == ExecutorState.APPROVED
        and (not location or e.locationname == location)
    ]


def _diagnose(
    client: Client,
    found: Blueprint,
    definitions: dict[str, BlueprintDefinition],
    executors: list[Executor],
    crons: set[str],
    fix: bool,
) -> list[Finding]:
    kind, name = found.kind, found.metadata.name
    location = found.metadata.locationname
    definition = definitions.get(kind)
    if definition is None:
        return [Finding("ERROR", f"no blueprint definition of kind {kind!r}")]
    executortype = definition.spec.handler.executorType
    if not executortype:
        return [Finding("WARN", f"the definition of {kind} names no handler executor type: "
                                "nothing reconciles it")]  # fmt: skip
    findings: list[Finding] = []
    where = f" at location {location!r}" if location else ""
    reconcilers = _reconcilers(executors, executortype, location)
    if not reconcilers:
        elsewhere = sorted({e.locationname or "(none)" for e in executors
                            if e.executortype == executortype})  # fmt: skip
        hint = f"; executors of that type are at: {', '.join(elsewhere)}" if elsewhere else ""
        findings.append(Finding("ERROR", f"no approved executor of type {executortype!r}{where}"
                                f"{hint}"))  # fmt: skip
    else:
        first = reconcilers[0].executorname
        findings.append(Finding("OK", f"reconciler {first} ({executortype}){where}"))
        heard = reconcilers[0].lastheardfromtime
        silent = (utcnow() - heard).total_seconds()
        if heard.year > 1 and silent > _SILENT_SECONDS:
            findings.append(Finding("WARN", f"reconciler {reconcilers[0].executorname} last "
                                    f"heard from {silent:.0f} s ago (may be offline)"))  # fmt: skip
    cron_name = _reconcile_cron(kind, location)
    if cron_name in crons:
        findings.append(Finding("OK", f"reconcile cron {cron_name}"))
    elif fix:
        client.reconcile_blueprint(found.metadata.colonyname, name)  # recreates the cron
        findings.append(Finding("FIXED", f"reconcile cron {cron_name} missing: reconciled now"))
    else:
        hint = f"colonies blueprint doctor --fix, or blueprint reconcile --name {name}"
        findings.append(Finding("ERROR", f"reconcile cron {cron_name} missing ({hint})"))
    last = found.metadata.lastReconciliationProcess
    if last:
        try:
            process = client.get_process(last)
        except ColoniesError:
            process = None  # removed by retention, say
        if process is not None and process.state == ProcessState.FAILED:
            why = "; ".join(process.errors) or "no error message"
            findings.append(Finding("ERROR", f"the last reconciliation {last} failed: {why}"))
        elif process is not None and process.state == ProcessState.WAITING:
            findings.append(Finding("WARN", f"the last reconciliation {last} is still waiting "
                                    "for a reconciler"))  # fmt: skip
    return findings


@blueprint.command("doctor", epilog=MEMBER)
@click.option("--name", help="One blueprint [all of the colony].")
@click.option("--fix", is_flag=True, help="Fix what can be fixed (a missing reconcile cron).")
@output_option
@pass_env
@errors
def blueprint_doctor(env: Env, name: str | None, fix: bool, output: str) -> None:
    """Look for what keeps blueprints from being reconciled: a missing definition or handler,
    no reconciler at the location, a silent reconciler, a missing reconcile cron, a failed last
    reconciliation. Exit 1 when something is wrong (and was not fixed)."""
    colony = env.colony()
    with env.client() as client:
        blueprints = [client.get_blueprint(colony, name)] if name else client.get_blueprints(colony)
        definitions = {d.spec.names.kind: d for d in client.get_blueprint_definitions(colony)}
        executors = client.get_executors(colony)
        crons = {c.name for c in client.get_crons(colony, 100)}
        report = {
            b.metadata.name: _diagnose(client, b, definitions, executors, crons, fix)
            for b in blueprints
        }
    if output != "table":
        dump({bp: [{"level": f.level, "message": f.message} for f in found]
              for bp, found in report.items()}, output)  # fmt: skip
    else:
        if not report:
            click.echo(f"no blueprints in colony {colony}")
        for bp, found in report.items():
            click.echo(f"{bp}:")
            for f in found:
                click.echo(f"  [{f.level}] {f.message}")
    problems = sum(f.level in ("ERROR", "WARN") for found in report.values() for f in found)
    if problems:
        fail(f"{problems} problem{'s' if problems != 1 else ''} found")


BLUEPRINT_LOG_COLUMNS: list[Column] = [
    ("TIME", lambda e: when_ns(e.timestamp)),
    ("EXECUTOR", lambda e: e.executorname),
    ("MESSAGE", lambda e: e.message.rstrip("\n")),
]


def when_ns(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp / 1e9))


@blueprint.command("log", epilog=MEMBER)
@click.option("--name", help="The reconcilers of this blueprint [of every blueprint kind].")
@click.option("--count", type=int, default=100, show_default=True, help="Lines per reconciler.")
@click.option("--follow", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@output_options
@pass_env
@errors
def blueprint_log(
    env: Env, name: str | None, count: int, follow: bool, output: str, no_headers: bool
) -> None:
    """The logs of the reconciler executors (their own log lines and their processes')."""
    colony = env.colony()
    with env.client() as client:
        definitions = client.get_blueprint_definitions(colony)
        executors = client.get_executors(colony)
        if name:
            found = client.get_blueprint(colony, name)
            types = {d.spec.handler.executorType for d in definitions
                     if d.spec.names.kind == found.kind}  # fmt: skip
            location = found.metadata.locationname
        else:
            types = {d.spec.handler.executorType for d in definitions}
            location = ""
        names = sorted(e.executorname for t in types if t
                       for e in _reconcilers(executors, t, location))  # fmt: skip
        if not names:
            fail("no reconciler executors" + (f" for blueprint {name}" if name else ""))
        entries: list[Log] = []
        for executor_name in names:
            latest = client.get_logs(colony, executor_name=executor_name, count=count, latest=True)
            entries.extend(reversed(latest))
        entries.sort(key=lambda e: e.timestamp)
        emit(entries, BLUEPRINT_LOG_COLUMNS, output, no_headers)
        since = {n: max((e.timestamp for e in entries if e.executorname == n), default=0)
                 for n in names}  # fmt: skip
        try:
            while follow:
                time.sleep(1)
                for executor_name in names:
                    new = client.get_logs(colony, executor_name=executor_name, count=500,
                                          since=since[executor_name])  # fmt: skip
                    if new:
                        since[executor_name] = new[-1].timestamp
                        emit(new, BLUEPRINT_LOG_COLUMNS, output, True)
        except KeyboardInterrupt:
            return
