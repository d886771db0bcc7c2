"""``colonies cron`` and ``colonies generator``: workflows started by time or by arguments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from colonies.cli._common import MEMBER, Env, errors, fail, id_argument, pass_env
from colonies.cli._output import Column, emit, emit_detail, output_option, output_options, when
from colonies.cli._specs import load_workflow_spec
from colonies.core import Cron, Generator

CRON_COLUMNS: list[Column] = [
    ("ID", lambda c: c.cronid),
    ("NAME", lambda c: c.name),
    ("SCHEDULE", lambda c: _schedule(c)),
    ("NEXT RUN", lambda c: when(c.nextrun)),
    ("LAST RUN", lambda c: when(c.lastrun)),
    ("WAIT PREVIOUS", lambda c: "yes" if c.waitforprevprocessgraph else "no"),
]
CRON_FIELDS: list[Column] = [
    *CRON_COLUMNS,
    ("LAST WORKFLOW", lambda c: c.prevprocessgraphid),
    ("INITIATOR", lambda c: c.initiatorname),
    ("WORKFLOW", lambda c: _funcnames(c.workflowspec)),
]
GENERATOR_COLUMNS: list[Column] = [
    ("ID", lambda g: g.generatorid),
    ("NAME", lambda g: g.name),
    ("TRIGGER", lambda g: g.trigger),
    ("TIMEOUT", lambda g: f"{g.timeout} s" if g.timeout > 0 else "none"),
    ("QUEUED", lambda g: g.queuesize),
    ("LAST RUN", lambda g: when(g.lastrun)),
]
GENERATOR_FIELDS: list[Column] = [
    *GENERATOR_COLUMNS,
    ("FIRST PACK", lambda g: when(g.firstpack)),
    ("INITIATOR", lambda g: g.initiatorname),
    ("WORKFLOW", lambda g: _funcnames(g.workflowspec)),
]


def _schedule(cron: Cron) -> str:
    return f"every {cron.interval} s" if cron.interval > 0 else cron.cronexpression


def _funcnames(workflowspec: str) -> str:
    """The stored workflow in brief: its function names with their dependencies."""
    try:
        specs: list[dict[str, Any]] = json.loads(workflowspec).get("functionspecs") or []
    except (ValueError, AttributeError):
        return "(unreadable)"
    parts = []
    for spec in specs:
        deps = (spec.get("conditions") or {}).get("dependencies") or []
        node = spec.get("nodename") or spec.get("funcname", "?")
        after = f" <- {','.join(deps)}" if deps else ""
        parts.append(f"{node}({spec.get('funcname', '?')}){after}")
    return "; ".join(parts)


spec_option = click.option(
    "--spec", "spec_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The workflow to start: a JSON list of function specs (upstream's format).",
)  # fmt: skip


# --- crons ------------------------------------------------------------------------------------
@click.group()
def cron() -> None:
    """Crons: start a workflow on a schedule (an expression or an interval)."""


cronid_argument = id_argument("cronid", "--cronid", what="cron ID")


@cron.command("add", epilog=MEMBER)
@spec_option
@click.option("--name", required=True, help="Cron name, unique in the colony.")
@click.option(
    "--cron", "expression",
    help="Six fields, seconds first ('0 0 3 * * *': 03:00 daily; '0/10 * * * * *': every 10 s), "
    "or @every 1m, @hourly, @daily, ...",
)  # fmt: skip
@click.option("--interval", type=int, default=-1, help="Or every this many seconds.")
@click.option(
    "--waitprevious", "--wait-previous", "wait_previous", is_flag=True,
    help="Start a run only once the previous run's workflow has ended.",
)  # fmt: skip
@output_option
@pass_env
@errors
def cron_add(
    env: Env,
    spec_file: Path,
    name: str,
    expression: str | None,
    interval: int,
    wait_previous: bool,
    output: str,
) -> None:
    """Add a cron that starts the workflow of --spec."""
    if bool(expression) == (interval > 0):
        fail("give --cron EXPRESSION or --interval SECONDS (one of them)")
    colony = env.colony()
    workflow = load_workflow_spec(spec_file, colony)
    with env.client() as client:
        added = client.add_cron(
            colony, name, workflow, expression=expression or "",
            interval=max(interval, 0), wait_for_previous=wait_previous,
        )  # fmt: skip
    emit(added, CRON_COLUMNS, output)


@cron.command("get", epilog=MEMBER)
@cronid_argument
@output_options
@pass_env
@errors
def cron_get(env: Env, cronid: str, output: str, no_headers: bool) -> None:
    """One cron, with the workflow it starts."""
    with env.client() as client:
        emit_detail(client.get_cron(cronid), CRON_FIELDS, output, no_headers)


@cron.command("ls", epilog=MEMBER)
@click.option("--count", type=int, default=20, show_default=True, help="At most 100.")
@output_options
@pass_env
@errors
def cron_ls(env: Env, count: int, output: str, no_headers: bool) -> None:
    """The colony's crons."""
    with env.client() as client:
        emit(client.get_crons(env.colony(), count), CRON_COLUMNS, output, no_headers)


@cron.command("run", epilog=MEMBER)
@cronid_argument
@output_option
@pass_env
@errors
def cron_run(env: Env, cronid: str, output: str) -> None:
    """Start the cron's workflow now (LAST WORKFLOW is the new run)."""
    with env.client() as client:
        emit_detail(client.run_cron(cronid), CRON_FIELDS, output)


@cron.command("remove", epilog=MEMBER)
@cronid_argument
@pass_env
@errors
def cron_remove(env: Env, cronid: str) -> None:
    """Remove a cron (the workflows it started stay)."""
    with env.client() as client:
        client.remove_cron(cronid)
    click.echo(f"cron {cronid} removed")


# --- generators -------------------------------------------------------------------------------
@click.group()
def generator() -> None:
    """Generators: start a workflow once enough arguments have been packed."""


generatorid_argument = id_argument("generatorid", "--generatorid", what="generator ID")


@generator.command("add", epilog=MEMBER)
@spec_option
@click.option("--name", required=True, help="Generator name, unique in the colony.")
@click.option(
    "--trigger", type=int, required=True,
    help="Start a run for every this many packed arguments (they become the roots' args).",
)  # fmt: skip
@click.option(
    "--timeout", type=int, default=-1,
    help="Seconds: also start a run with fewer arguments once this long has passed since the "
    "last [never].",
)  # fmt: skip
@output_option
@pass_env
@errors
def generator_add(
    env: Env, spec_file: Path, name: str, trigger: int, timeout: int, output: str
) -> None:
    """Add a generator that starts the workflow of --spec."""
    if trigger < 1:
        fail("--trigger must be at least 1")
    colony = env.colony()
    workflow = load_workflow_spec(spec_file, colony)
    with env.client() as client:
        emit(client.add_generator(colony, name, workflow, trigger, timeout), GENERATOR_COLUMNS,
             output)  # fmt: skip


@generator.command("pack", epilog=MEMBER)
@generatorid_argument
@click.option("--arg", "args", required=True, multiple=True, help="An argument (repeatable).")
@pass_env
@errors
def generator_pack(env: Env, generatorid: str, args: tuple[str, ...]) -> None:
    """Queue arguments for the generator's next run."""
    with env.client() as client:
        for arg in args:
            client.pack_generator(generatorid, arg)
    click.echo(f"packed {len(args)} argument{'s' if len(args) != 1 else ''}")


@generator.command("get", epilog=MEMBER)
@click.argument("generatorid_arg", required=False, metavar="[GENERATORID]")
@click.option("--generatorid", "generatorid_opt", metavar="GENERATORID", help="The generator ID.")
@click.option("--name", help="Or the generator's name.")
@output_options
@pass_env
@errors
def generator_get(
    env: Env,
    generatorid_arg: str | None,
    generatorid_opt: str | None,
    name: str | None,
    output: str,
    no_headers: bool,
) -> None:
    """One generator, by ID or --name, with the workflow it starts."""
    generatorid = generatorid_arg or generatorid_opt
    with env.client() as client:
        if generatorid and not name:
            found: Generator = client.get_generator(generatorid)
        elif name and not generatorid:
            found = client.resolve_generator(env.colony(), name)
        else:
            raise click.UsageError("give the generator ID or --name (one of them)")
    emit_detail(found, GENERATOR_FIELDS, output, no_headers)


@generator.command("ls", epilog=MEMBER)
@click.option("--count", type=int, default=20, show_default=True, help="At most 100.")
@output_options
@pass_env
@errors
def generator_ls(env: Env, count: int, output: str, no_headers: bool) -> None:
    """The colony's generators."""
    with env.client() as client:
        emit(client.get_generators(env.colony(), count), GENERATOR_COLUMNS, output, no_headers)


@generator.command("remove", epilog=MEMBER)
@generatorid_argument
@pass_env
@errors
def generator_remove(env: Env, generatorid: str) -> None:
    """Remove a generator and the arguments queued for it."""
    with env.client() as client:
        client.remove_generator(generatorid)
    click.echo(f"generator {generatorid} removed")
