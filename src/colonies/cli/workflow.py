"""``colonies workflow``: submit workflows (DAGs of function specs) and follow them."""

from __future__ import annotations

import time
from pathlib import Path

import click

from colonies.cli._common import (
    COLONY_OWNER,
    MEMBER,
    Env,
    colony_key_option,
    confirm_or_yes,
    errors,
    fail,
    id_argument,
    pass_env,
    yes_option,
)
from colonies.cli._output import (
    Column,
    emit,
    emit_detail,
    output_option,
    output_options,
    spinner,
    state_name,
    table,
    when,
)
from colonies.cli._specs import load_workflow_spec
from colonies.client import Client
from colonies.core import Process, ProcessGraph, ProcessState

WORKFLOW_COLUMNS: list[Column] = [
    ("ID", lambda g: g.processgraphid),
    ("STATE", lambda g: state_name(g.state)),
    ("PROCESSES", lambda g: len(g.processids)),
    ("SUBMITTED", lambda g: when(g.submissiontime)),
    ("ENDED", lambda g: when(g.endtime)),
    ("INITIATOR", lambda g: g.initiatorname),
]
WORKFLOW_FIELDS: list[Column] = [
    ("ID", lambda g: g.processgraphid),
    ("STATE", lambda g: state_name(g.state)),
    ("COLONY", lambda g: g.colonyname),
    ("INITIATOR", lambda g: g.initiatorname),
    ("SUBMITTED", lambda g: when(g.submissiontime)),
    ("STARTED", lambda g: when(g.starttime)),
    ("ENDED", lambda g: when(g.endtime)),
    ("ROOTS", lambda g: ", ".join(g.rootprocessids)),
]
MEMBER_COLUMNS: list[Column] = [
    ("NODE", lambda p: p.spec.nodename),
    ("PROCESSID", lambda p: p.processid),
    ("FUNC", lambda p: p.spec.funcname),
    ("STATE", lambda p: state_name(p.state)),
    ("DEPENDS ON", lambda p: ", ".join(p.spec.conditions.dependencies)),
    ("ERRORS", lambda p: "; ".join(p.errors)),
]
_ENDED = (ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED)
_STATES = {
    "waiting": ProcessState.WAITING,
    "successful": ProcessState.SUCCESS,
    "failed": ProcessState.FAILED,
    "cancelled": ProcessState.CANCELLED,
}
workflowid_argument = id_argument("workflowid", "--workflowid", what="workflow ID")


@click.group()
def workflow() -> None:
    """Workflows: DAGs of function specs, run as process graphs."""


@workflow.command("submit", epilog=MEMBER)
@click.option(
    "--spec", "spec_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="A JSON list of function specs, each with a nodename and conditions.dependencies "
    "(upstream's format), or an object with functionspecs.",
)  # fmt: skip
@click.option("--wait", is_flag=True, help="Wait until it ends; exit 1 unless it succeeds.")
@click.option("--timeout", type=float, default=600, show_default=True, help="For --wait, seconds.")
@output_option
@pass_env
@errors
def workflow_submit(env: Env, spec_file: Path, wait: bool, timeout: float, output: str) -> None:
    """Submit a workflow; prints it (with --wait, once it has ended)."""
    spec = load_workflow_spec(spec_file, env.config.colony_name)
    with env.client() as client:
        graph = client.submit_workflow(spec)
        if wait:
            with spinner(f"waiting for workflow {graph.processgraphid[:16]}"):
                graph = _wait(client, graph.processgraphid, timeout)
    emit(graph, WORKFLOW_COLUMNS, output)
    if wait and graph.state not in _ENDED:
        fail(
            f"workflow {graph.processgraphid} is still {state_name(graph.state).lower()} after "
            f"{timeout:g} s (colonies workflow get {graph.processgraphid}; "
            f"colonies workflow cancel {graph.processgraphid} to stop it)"
        )
    if wait and graph.state != ProcessState.SUCCESS:
        fail(
            f"workflow {graph.processgraphid} {state_name(graph.state).lower()} "
            f"(colonies workflow get {graph.processgraphid} shows its processes' errors)"
        )


def _wait(client: Client, graphid: str, timeout: float) -> ProcessGraph:
    deadline = time.monotonic() + timeout
    graph: ProcessGraph = client.get_workflow(graphid)
    while graph.state not in _ENDED and time.monotonic() < deadline:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        graph = client.get_workflow(graphid)
    return graph


def _lister(state: ProcessState, doc: str) -> click.Command:
    @click.option("--count", type=int, default=20, show_default=True, help="At most 100.")
    @output_options
    @pass_env
    @errors
    def command(env: Env, count: int, output: str, no_headers: bool) -> None:
        with env.client() as client:
            emit(client.get_workflows(env.colony(), state, count), WORKFLOW_COLUMNS, output,
                 no_headers)  # fmt: skip

    command.__doc__ = doc
    return click.command(epilog=MEMBER)(command)


workflow.add_command(_lister(ProcessState.RUNNING, "Running workflows (as upstream)."), "ps")
workflow.add_command(_lister(ProcessState.RUNNING, "Running workflows (the same as ps)."), "psr")
workflow.add_command(_lister(ProcessState.WAITING, "Waiting workflows, oldest first."), "psw")
workflow.add_command(_lister(ProcessState.SUCCESS, "Successful workflows, newest first."), "pss")
workflow.add_command(_lister(ProcessState.FAILED, "Failed workflows, newest first."), "psf")
workflow.add_command(_lister(ProcessState.CANCELLED, "Cancelled workflows, newest first."), "psc")


@workflow.command("get", epilog=MEMBER)
@workflowid_argument
@output_options
@pass_env
@errors
def workflow_get(env: Env, workflowid: str, output: str, no_headers: bool) -> None:
    """One workflow; as a table, with each of its processes (state and errors)."""
    with env.client() as client:
        graph = client.get_workflow(workflowid)
        if output != "table":
            emit(graph, [], output)
            return
        members: list[Process] = [client.get_process(p) for p in graph.processids]
    emit_detail(graph, WORKFLOW_FIELDS, output, no_headers)
    click.echo()
    rows = [[str(get(p)) for _, get in MEMBER_COLUMNS] for p in members]
    table(rows, None if no_headers else [title for title, _ in MEMBER_COLUMNS])


@workflow.command("cancel", epilog=MEMBER)
@workflowid_argument
@pass_env
@errors
def workflow_cancel(env: Env, workflowid: str) -> None:
    """Cancel a waiting or running workflow."""
    with env.client() as client:
        client.cancel_workflow(workflowid)
    click.echo(f"workflow {workflowid} cancelled")


@workflow.command("remove", epilog=MEMBER)
@workflowid_argument
@pass_env
@errors
def workflow_remove(env: Env, workflowid: str) -> None:
    """Remove a workflow that is not running, with its processes."""
    with env.client() as client:
        client.remove_workflow(workflowid)
    click.echo(f"workflow {workflowid} removed")


def removeall_state(state: str | None, flags: dict[str, bool]) -> tuple[str, int]:
    """The state of ``removeall``: --state, or one of upstream's --waiting, --successful,
    --failed, --cancelled; (its name, its code)."""
    chosen = [name for name, on in flags.items() if on]
    if state is not None:
        chosen.append(state)
    if len(set(chosen)) > 1:
        raise click.UsageError("choose one state: " + ", ".join(sorted(set(chosen))))
    name = chosen[0] if chosen else "all"
    return name, _STATES.get(name, ProcessState.NOTSET)


def removeall_options(fn: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--state", type=click.Choice(["all", *_STATES]), default=None,
                     help="Only those in this state [all but running]."),
        *(click.option(f"--{name}", is_flag=True, help=f"Only {name} ones (as --state {name}).")
          for name in _STATES),
        yes_option,
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


@workflow.command("removeall", epilog=COLONY_OWNER)
@removeall_options
@colony_key_option
@pass_env
@errors
def workflow_removeall(
    env: Env,
    state: str | None,
    waiting: bool,
    successful: bool,
    failed: bool,
    cancelled: bool,
    yes: bool,
    colony_key: str | None,
) -> None:
    """Remove every workflow of the colony in a state (never running ones)."""
    flags = {"waiting": waiting, "successful": successful, "failed": failed,
             "cancelled": cancelled}  # fmt: skip
    name, code = removeall_state(state, flags)
    colony = env.colony()
    confirm_or_yes(f"Remove {name} workflows of colony {colony}?", yes)
    with env.client("colony", colony_key) as client:
        client.remove_all_workflows(colony, code)
    click.echo(f"removed {name} workflows")
