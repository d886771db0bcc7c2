"""``colonies process``: list and inspect processes; as an executor, assign, close, fail; as
the colony owner, pause and resume assignments."""

from __future__ import annotations

import json
from typing import Any

import click

from colonies.cli._common import (
    COLONY_OWNER,
    EXECUTOR,
    MEMBER,
    Env,
    colony_key_option,
    confirm_or_yes,
    errors,
    fail,
    id_argument,
    pass_env,
)
from colonies.cli._output import (
    Column,
    emit,
    emit_detail,
    output_option,
    output_options,
    spinner,
    state_name,
    when,
)
from colonies.cli.workflow import removeall_options, removeall_state
from colonies.core import ProcessState

PROCESS_COLUMNS: list[Column] = [
    ("ID", lambda p: p.processid),
    ("FUNC", lambda p: p.spec.funcname),
    ("ARGS", lambda p: json.dumps(p.spec.args)),
    ("TYPE", lambda p: p.spec.conditions.executortype),
    ("STATE", lambda p: state_name(p.state)),
    ("SUBMITTED", lambda p: when(p.submissiontime)),
    ("INITIATOR", lambda p: p.initiatorname),
]


def _values(values: list[Any]) -> str:
    return "; ".join(v if isinstance(v, str) else json.dumps(v) for v in values)


PROCESS_FIELDS: list[Column] = [
    ("ID", lambda p: p.processid),
    ("STATE", lambda p: state_name(p.state)),
    ("FUNC", lambda p: p.spec.funcname),
    ("ARGS", lambda p: json.dumps(p.spec.args)),
    ("KWARGS", lambda p: json.dumps(p.spec.kwargs)),
    ("EXECUTOR TYPE", lambda p: p.spec.conditions.executortype),
    ("ASSIGNED TO", lambda p: p.assignedexecutorid),
    ("INITIATOR", lambda p: p.initiatorname),
    ("LABEL", lambda p: p.spec.label),
    ("PRIORITY", lambda p: p.spec.priority),
    ("SUBMITTED", lambda p: when(p.submissiontime)),
    ("STARTED", lambda p: when(p.starttime)),
    ("ENDED", lambda p: when(p.endtime)),
    ("MAX WAIT/EXEC S", lambda p: f"{p.spec.maxwaittime}/{p.spec.maxexectime}"),
    ("RETRIES", lambda p: f"{p.retries}/{p.spec.maxretries}"),
    ("WORKFLOW", lambda p: p.processgraphid),
    ("PARENTS", lambda p: ", ".join(p.parents)),
    ("CHILDREN", lambda p: ", ".join(p.children)),
    ("INPUT", lambda p: _values(p.input)),
    ("OUTPUT", lambda p: _values(p.output)),
    ("ERRORS", lambda p: "; ".join(p.errors)),
    ("ATTRIBUTES", lambda p: ", ".join(f"{a.key}={a.value}" for a in p.attributes)),
]
processid_argument = id_argument("processid", "-p", "--processid", what="process ID")


@click.group()
def process() -> None:
    """Processes: list, inspect, and (as an executor) assign, close or fail."""


def _lister(state: ProcessState, doc: str) -> click.Command:
    @click.option("--count", type=int, default=20, show_default=True, help="At most 100.")
    @click.option(
        "--type", "--executortype", "executortype", default="", help="Only this executor type."
    )
    @click.option("--label", default="", help="Only processes with this label.")
    @click.option("--initiator", default="", help="Only processes submitted by this name.")
    @output_options
    @pass_env
    @errors
    def command(
        env: Env,
        count: int,
        executortype: str,
        label: str,
        initiator: str,
        output: str,
        no_headers: bool,
    ) -> None:
        with env.client() as client:
            found = client.get_processes(
                env.colony(), state, count, executortype=executortype, label=label,
                initiator=initiator,
            )  # fmt: skip
        emit(found, PROCESS_COLUMNS, output, no_headers)

    command.__doc__ = doc
    return click.command(epilog=MEMBER)(command)


for _name, _state, _doc in (
    ("ps", ProcessState.RUNNING, "Running processes (as upstream's ps)."),
    ("psr", ProcessState.RUNNING, "Running processes (the same as ps)."),
    ("psw", ProcessState.WAITING, "Waiting processes, oldest first."),
    ("pss", ProcessState.SUCCESS, "Successful processes, newest first."),
    ("psf", ProcessState.FAILED, "Failed processes, newest first."),
    ("psc", ProcessState.CANCELLED, "Cancelled processes, newest first."),
):
    process.add_command(_lister(_state, _doc), _name)


@process.command("get", epilog=MEMBER)
@processid_argument
@click.option("--out", "only_output", is_flag=True, help="Print only the output, a value a line.")
@output_options
@pass_env
@errors
def process_get(env: Env, processid: str, only_output: bool, output: str, no_headers: bool) -> None:
    """One process: every field, its output and errors (JSON: the whole object)."""
    with env.client() as client:
        found = client.get_process(processid)
    if only_output:
        for value in found.output:
            click.echo(value if isinstance(value, str) else json.dumps(value))
        return
    emit_detail(found, PROCESS_FIELDS, output, no_headers)


@process.command("assign", epilog=EXECUTOR)
@click.option("--timeout", type=int, default=10, show_default=True, help="Seconds to wait.")
@output_option
@pass_env
@errors
def process_assign(env: Env, timeout: int, output: str) -> None:
    """Take the next process for this executor (COLONIES_PRVKEY is the executor's key)."""
    with env.client() as client, spinner("waiting for a process"):
        got = client.assign(env.colony(), timeout)
    if got is None:
        fail(f"No process available for assignment within {timeout} s")
    emit(got, PROCESS_COLUMNS, output)


def _json_or_list(text: str | None, what: str) -> list[Any]:
    """A JSON list, or upstream's comma-separated strings."""
    if text is None:
        return []
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{what} is not valid JSON: {exc}") from None
        if isinstance(value, list):
            return value
        raise click.BadParameter(f"{what} must be a JSON list")
    return text.split(",") if text else []


@process.command("close", epilog=EXECUTOR)
@processid_argument
@click.option("--out", "out_json", help="Output: a JSON list, or strings separated by commas.")
@pass_env
@errors
def process_close(env: Env, processid: str, out_json: str | None) -> None:
    """Close a process you run as successful."""
    with env.client() as client:
        client.close_successful(processid, _json_or_list(out_json, "--out"))
    click.echo(f"process {processid} closed as successful")


@process.command("fail", epilog=EXECUTOR)
@processid_argument
@click.option("--error", "error_texts", multiple=True, help="An error message (repeatable).")
@click.option("--errors", "errors_text", help="Error messages separated by commas (upstream's).")
@pass_env
@errors
def process_fail(
    env: Env, processid: str, error_texts: tuple[str, ...], errors_text: str | None
) -> None:
    """Close a process you run as failed."""
    texts = [*error_texts, *(errors_text.split(",") if errors_text else [])]
    with env.client() as client:
        client.close_failed(processid, texts or ["No errors specified"])
    click.echo(f"process {processid} closed as failed")


@process.command("cancel", epilog=MEMBER)
@processid_argument
@pass_env
@errors
def process_cancel(env: Env, processid: str) -> None:
    """Cancel a waiting or running process."""
    with env.client() as client:
        client.cancel_process(processid)
    click.echo(f"process {processid} cancelled")


@process.command("remove", epilog=MEMBER)
@processid_argument
@pass_env
@errors
def process_remove(env: Env, processid: str) -> None:
    """Remove a process that is not running."""
    with env.client() as client:
        client.remove_process(processid)
    click.echo(f"process {processid} removed")


@process.command("removeall", epilog=COLONY_OWNER)
@removeall_options
@colony_key_option
@pass_env
@errors
def process_removeall(
    env: Env,
    state: str | None,
    waiting: bool,
    successful: bool,
    failed: bool,
    cancelled: bool,
    yes: bool,
    colony_key: str | None,
) -> None:
    """Remove every standalone process of the colony in a state (never running ones)."""
    flags = {"waiting": waiting, "successful": successful, "failed": failed,
             "cancelled": cancelled}  # fmt: skip
    name, code = removeall_state(state, flags)
    colony = env.colony()
    confirm_or_yes(f"Remove {name} processes of colony {colony}?", yes)
    with env.client("colony", colony_key) as client:
        client.remove_all_processes(colony, code)
    click.echo(f"removed {name} processes")


# --- pausing ----------------------------------------------------------------------------------
@process.command("pause", epilog=COLONY_OWNER)
@colony_key_option
@pass_env
@errors
def process_pause(env: Env, colony_key: str | None) -> None:
    """Stop handing out the colony's processes; submissions go on."""
    with env.client("colony", colony_key) as client:
        client.pause_assignments(env.colony())
    click.echo(f"assignments of colony {env.colony()} paused")


@process.command("resume", epilog=COLONY_OWNER)
@colony_key_option
@pass_env
@errors
def process_resume(env: Env, colony_key: str | None) -> None:
    """Hand out the colony's processes again."""
    with env.client("colony", colony_key) as client:
        client.resume_assignments(env.colony())
    click.echo(f"assignments of colony {env.colony()} resumed")


@process.command("status", epilog=MEMBER)
@output_option
@pass_env
@errors
def process_status(env: Env, output: str) -> None:
    """Whether the colony's assignments are paused."""
    colony = env.colony()
    with env.client() as client:
        paused = client.assignments_paused(colony)
    if output != "table":
        emit({"colonyname": colony, "ispaused": paused}, [], output)
        return
    click.echo(f"assignments of colony {colony} are {'PAUSED' if paused else 'ACTIVE'}")
