"""Work: functions, processes, logs and attributes."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import click
import msgspec

from colonies.cli._common import (
    COLONY_OWNER,
    EXECUTOR,
    MEMBER,
    Env,
    colony_key_option,
    errors,
    fail,
    parse_json,
    pass_env,
)
from colonies.cli._output import Column, emit, no_headers_option, output_option, state_name, when
from colonies.client import AsyncClient
from colonies.core import Conditions, Function, FunctionSpec, Process, ProcessState
from colonies.core.wire import DecodeError, decode
from colonies.crypto import new_random_id

PROCESS_COLUMNS: list[Column] = [
    ("ID", lambda p: p.processid),
    ("FUNC", lambda p: p.spec.funcname),
    ("ARGS", lambda p: json.dumps(p.spec.args)),
    ("TYPE", lambda p: p.spec.conditions.executortype),
    ("STATE", lambda p: state_name(p.state)),
    ("SUBMITTED", lambda p: when(p.submissiontime)),
    ("INITIATOR", lambda p: p.initiatorname),
]
FUNCTION_COLUMNS: list[Column] = [
    ("FUNC", lambda f: f.funcname),
    ("EXECUTOR", lambda f: f.executorname),
    ("TYPE", lambda f: f.executortype),
    ("CALLS", lambda f: f.counter),
    ("AVG EXEC S", lambda f: f"{f.avgexectime:.3f}"),
]
LOG_COLUMNS: list[Column] = [
    ("TIME", lambda entry: time.strftime("%H:%M:%S", time.gmtime(entry.timestamp / 1e9))),
    ("EXECUTOR", lambda entry: entry.executorname),
    ("MESSAGE", lambda entry: entry.message),
]
_LOG_PAGE = 500  # the most getlogsmsg returns

ATTRIBUTE_COLUMNS: list[Column] = [
    ("KEY", lambda a: a.key),
    ("VALUE", lambda a: a.value),
    ("TYPE", lambda a: a.attributetype),
    ("ATTRIBUTEID", lambda a: a.attributeid),
]


# --- functions --------------------------------------------------------------------------------
@click.group()
def function() -> None:
    """Functions: register one for an executor, list them, submit work."""


@function.command(
    "register", epilog=EXECUTOR + " Executor name: COLONIES_EXECUTOR_NAME (--executor)."
)
@click.option("--name", "funcname", required=True, help="Function name.")
@click.option("--executor", help="Executor name [COLONIES_EXECUTOR_NAME]; signs with its key.")
@output_option
@pass_env
@errors
def function_register(env: Env, funcname: str, executor: str | None, output: str) -> None:
    """Advertise a function of an executor (signed by that executor's key)."""
    name = executor or env.config.executor_name
    if not name:
        fail("no executor: set COLONIES_EXECUTOR_NAME or pass --executor")
    new = Function(executorname=name, colonyname=env.colony(), funcname=funcname)
    with env.client() as client:
        emit(client.add_function(new), FUNCTION_COLUMNS, output)


@function.command("ls", epilog=MEMBER)
@click.option("--executor", default="", help="Only this executor's functions.")
@output_option
@no_headers_option
@pass_env
@errors
def function_ls(env: Env, executor: str, output: str, no_headers: bool) -> None:
    """List functions of the colony."""
    with env.client() as client:
        emit(client.get_functions(env.colony(), executor), FUNCTION_COLUMNS, output, no_headers)


_ENDS = (ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED)
_UNFINISHED = (ProcessState.WAITING, ProcessState.RUNNING)


async def _spin(processid: str) -> None:
    started = time.monotonic()
    for mark in itertools.cycle("|/-\\"):
        elapsed = time.monotonic() - started
        click.echo(f"\r{mark} waiting for {processid[:16]} {elapsed:4.0f} s", nl=False, err=True)
        await asyncio.sleep(0.1)


async def _finished(client: AsyncClient, processid: str, timeout: float) -> Process:
    """The process once it is SUCCESS, FAILED or CANCELLED, or as it is at the timeout.

    One subscription per final state over the WebSocket (the SDK's ``wait``); the first to
    answer wins. The process is read again at the end: the full object, whatever happened.
    """
    seconds = max(1, math.ceil(timeout))
    waits = [asyncio.ensure_future(client.wait(processid, end, seconds)) for end in _ENDS]
    try:
        for next_done in asyncio.as_completed(waits):
            if await next_done is not None:
                break
    finally:
        for w in waits:
            w.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return await client.get_process(processid)


async def _submit_and_wait(env: Env, spec: FunctionSpec, timeout: float) -> Process:
    async with env.async_client() as client:
        process = await client.submit(spec)
        spinner = asyncio.ensure_future(_spin(process.processid)) if sys.stderr.isatty() else None
        try:
            return await _finished(client, process.processid, timeout)
        finally:
            if spinner is not None:
                spinner.cancel()
                await asyncio.gather(spinner, return_exceptions=True)
                click.echo("\r" + " " * 50 + "\r", nl=False, err=True)


# Options that describe the function; a --spec file describes it instead.
_SPEC_OPTIONS = (
    "funcname", "args", "args_json", "kwargs_json", "executortype", "priority", "maxexectime",
    "maxwaittime", "maxretries",
)  # fmt: skip


def _spec_from_file(env: Env, spec_file: Path, label: str) -> FunctionSpec:
    ctx = click.get_current_context()
    given = [
        name
        for name in _SPEC_OPTIONS
        if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
    ]
    if given:
        options = ", ".join(
            "--" + n.removesuffix("_json").replace("funcname", "func") for n in given
        )
        fail(f"--spec describes the whole function: drop {options}")
    try:
        spec = decode(spec_file.read_bytes(), FunctionSpec)
    except (OSError, DecodeError) as exc:
        fail(f"cannot read the function spec {spec_file}: {exc}")
    if not spec.funcname:
        fail(f"the function spec {spec_file} has no funcname")
    if not spec.conditions.colonyname:
        spec.conditions.colonyname = env.colony()
    if label:
        spec.label = label
    return spec


def _create_snapshots(env: Env, spec: FunctionSpec) -> None:
    """``--snapshot``: freeze each snapshot mount's label under a random name, as upstream."""
    if not spec.fs.snapshots:
        fail("--snapshot: the function spec has no fs.snapshots to create")
    with env.client() as client:
        for mount in spec.fs.snapshots:
            if not mount.label:
                fail("--snapshot: a snapshot mount has no label")
            created = client.create_snapshot(
                spec.conditions.colonyname, mount.label, new_random_id()
            )
            mount.snapshotid = created.snapshotid


def _submit(
    env: Env,
    funcname: str | None,
    args: tuple[str, ...],
    args_json: str | None,
    kwargs_json: str | None,
    executortype: str | None,
    priority: int,
    maxexectime: int,
    maxwaittime: int,
    maxretries: int,
    label: str,
    wait: bool,
    timeout: float,
    output: str,
    spec_file: Path | None = None,
    snapshot: bool = False,
) -> None:
    if spec_file is not None:
        spec = _spec_from_file(env, spec_file, label)
    elif not funcname:
        fail("give --func, or a function spec with --spec")
    else:
        spec = _spec_from_options(
            env, funcname, args, args_json, kwargs_json, executortype, priority,
            maxexectime, maxwaittime, maxretries, label,
        )  # fmt: skip
    if snapshot:
        _create_snapshots(env, spec)
    if not wait:
        with env.client() as client:
            emit(client.submit(spec), PROCESS_COLUMNS, output)
        return
    process = asyncio.run(_submit_and_wait(env, spec, timeout))
    if output == "json":
        emit(process, PROCESS_COLUMNS, output)
    elif process.state == ProcessState.SUCCESS:
        for value in process.output:
            click.echo(value if isinstance(value, str) else json.dumps(value))
    if process.state in _UNFINISHED:
        fail(
            f"process {process.processid} is still {state_name(process.state).lower()} "
            f"after {timeout:g} s"
        )
    if process.state != ProcessState.SUCCESS:
        detail = "; ".join(process.errors) or "no error message"
        fail(f"process {process.processid} {state_name(process.state).lower()}: {detail}")


def _spec_from_options(
    env: Env,
    funcname: str,
    args: tuple[str, ...],
    args_json: str | None,
    kwargs_json: str | None,
    executortype: str | None,
    priority: int,
    maxexectime: int,
    maxwaittime: int,
    maxretries: int,
    label: str,
) -> FunctionSpec:
    etype = executortype or env.config.executor_type
    if not etype:
        fail("no executor type: set COLONIES_EXECUTOR_TYPE or pass --type")
    extra = parse_json(args_json, "--args", [])
    if not isinstance(extra, list):
        raise click.BadParameter("--args must be a JSON list, e.g. '[1, \"a\"]'")
    kwargs = parse_json(kwargs_json, "--kwargs", {})
    if not isinstance(kwargs, dict):
        raise click.BadParameter("--kwargs must be a JSON object, e.g. '{\"n\": 1}'")
    return FunctionSpec(
        funcname=funcname,
        args=list(args) + extra,
        kwargs=kwargs,
        priority=priority,
        maxexectime=maxexectime,
        maxwaittime=maxwaittime,
        maxretries=maxretries,
        label=label,
        conditions=Conditions(colonyname=env.colony(), executortype=etype),
    )


def _submit_options(fn: Any) -> Any:
    options = [
        click.option("--func", "funcname", help="Function name (or give --spec)."),
        click.option("--arg", "args", multiple=True, help="A string argument (repeatable)."),
        click.option("--args", "args_json", help="Arguments as a JSON list, e.g. '[1, \"a\"]'."),
        click.option("--kwargs", "kwargs_json", help="Keyword arguments as a JSON object."),
        click.option("--type", "executortype", help="Executor type [COLONIES_EXECUTOR_TYPE]."),
        click.option("--priority", type=int, default=0, show_default=True),
        click.option("--maxexectime", type=int, default=-1, show_default=True, help="Seconds."),
        click.option("--maxwaittime", type=int, default=-1, show_default=True, help="Seconds."),
        click.option("--maxretries", type=int, default=-1, show_default=True),
        click.option("--label", default=""),
        click.option("--timeout", type=float, default=600, show_default=True, help="For --wait."),
        click.option(
            "--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path),
            help="A function spec as JSON (upstream's format, with an fs section for ColonyFS) "
            "instead of --func and the options describing the function.",
        ),
        click.option(
            "--snapshot", is_flag=True,
            help="Create a snapshot for each fs.snapshots mount and fill in its snapshotid.",
        ),
        output_option,
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


@function.command("submit", epilog=MEMBER + " Executor type: COLONIES_EXECUTOR_TYPE (--type).")
@_submit_options
@click.option("--wait", is_flag=True, help="Wait for the result and print its output.")
@pass_env
@errors
def function_submit(env: Env, /, wait: bool, **options: Any) -> None:
    """Submit a function spec; with --wait, print its output when it finishes.

    With --wait the output values are printed one a line (exit 0), or the errors of a failed
    or cancelled process on stderr (exit 1). A spinner shows on stderr when it is a terminal.
    """
    _submit(env, wait=wait, **options)


@function.command("exec", epilog=MEMBER + " Executor type: COLONIES_EXECUTOR_TYPE (--type).")
@_submit_options
@pass_env
@errors
def function_exec(env: Env, /, **options: Any) -> None:
    """Submit and wait: the same as submit --wait."""
    _submit(env, wait=True, **options)


# --- processes --------------------------------------------------------------------------------
@click.group()
def process() -> None:
    """Processes: list, inspect, and (as an executor) assign, close or fail."""


def _lister(state: ProcessState, doc: str) -> click.Command:
    @click.option("--count", type=int, default=20, show_default=True, help="At most 100.")
    @click.option("--type", "executortype", default="", help="Only this executor type.")
    @output_option
    @no_headers_option
    @pass_env
    @errors
    def command(env: Env, count: int, executortype: str, output: str, no_headers: bool) -> None:
        with env.client() as client:
            found = client.get_processes(env.colony(), state, count, executortype=executortype)
        emit(found, PROCESS_COLUMNS, output, no_headers)

    command.__doc__ = doc
    return click.command(epilog=MEMBER)(command)


process.add_command(_lister(ProcessState.WAITING, "Waiting processes, oldest first."), "ps")
process.add_command(_lister(ProcessState.WAITING, "Waiting processes (as ps)."), "psw")
process.add_command(_lister(ProcessState.RUNNING, "Running processes."), "psr")
process.add_command(_lister(ProcessState.SUCCESS, "Successful processes, newest first."), "pss")
process.add_command(_lister(ProcessState.FAILED, "Failed processes, newest first."), "psf")


@process.command("get", epilog=MEMBER)
@click.argument("processid")
@output_option
@no_headers_option
@pass_env
@errors
def process_get(env: Env, processid: str, output: str, no_headers: bool) -> None:
    """One process (JSON shows everything: output, errors, attributes)."""
    with env.client() as client:
        emit(client.get_process(processid), PROCESS_COLUMNS, output, no_headers)


@process.command("assign", epilog=EXECUTOR)
@click.option("--timeout", type=int, default=10, show_default=True, help="Seconds to wait.")
@output_option
@pass_env
@errors
def process_assign(env: Env, timeout: int, output: str) -> None:
    """Take the next process for this executor (COLONIES_PRVKEY is the executor's key)."""
    with env.client() as client:
        got = client.assign(env.colony(), timeout)
    if got is None:
        fail("No process available for assignment")
    emit(got, PROCESS_COLUMNS, output)


@process.command("close", epilog=EXECUTOR)
@click.argument("processid")
@click.option("--out", "out_json", help="Output as a JSON list.")
@pass_env
@errors
def process_close(env: Env, processid: str, out_json: str | None) -> None:
    """Close a process you run as successful."""
    with env.client() as client:
        client.close_successful(processid, parse_json(out_json, "--out", []))
    click.echo(f"process {processid} closed as successful")


@process.command("fail", epilog=EXECUTOR)
@click.argument("processid")
@click.option("--error", "error_texts", multiple=True, help="An error message (repeatable).")
@pass_env
@errors
def process_fail(env: Env, processid: str, error_texts: tuple[str, ...]) -> None:
    """Close a process you run as failed."""
    with env.client() as client:
        client.close_failed(processid, list(error_texts))
    click.echo(f"process {processid} closed as failed")


@process.command("cancel", epilog=MEMBER)
@click.argument("processid")
@pass_env
@errors
def process_cancel(env: Env, processid: str) -> None:
    """Cancel a waiting or running process."""
    with env.client() as client:
        client.cancel_process(processid)
    click.echo(f"process {processid} cancelled")


@process.command("remove", epilog=MEMBER)
@click.argument("processid")
@pass_env
@errors
def process_remove(env: Env, processid: str) -> None:
    """Remove a process that is not running."""
    with env.client() as client:
        client.remove_process(processid)
    click.echo(f"process {processid} removed")


@process.command("removeall", epilog=COLONY_OWNER)
@click.option(
    "--state", type=click.Choice(["all", "waiting", "successful", "failed", "cancelled"]),
    default="all", show_default=True,
)  # fmt: skip
@colony_key_option
@pass_env
@errors
def process_removeall(env: Env, state: str, colony_key: str | None) -> None:
    """Remove every standalone process in a state (colony owner)."""
    code = {
        "all": ProcessState.NOTSET,
        "waiting": ProcessState.WAITING,
        "successful": ProcessState.SUCCESS,
        "failed": ProcessState.FAILED,
        "cancelled": ProcessState.CANCELLED,
    }[state]
    with env.client("colony", colony_key) as client:
        client.remove_all_processes(env.colony(), code)
    click.echo(f"removed {state} processes")


# --- logs and attributes ----------------------------------------------------------------------
@click.group()
def log() -> None:
    """Process and executor logs."""


@log.command("get", epilog=MEMBER)
@click.option("--processid", default="", help="Logs of a process.")
@click.option("--executor", default="", help="Logs of an executor.")
@click.option("--count", type=int, default=100, show_default=True, help="At most 500.")
@click.option("--follow", is_flag=True, help="Keep printing new lines until the process ends.")
@output_option
@no_headers_option
@pass_env
@errors
def log_get(
    env: Env,
    processid: str,
    executor: str,
    count: int,
    follow: bool,
    output: str,
    no_headers: bool,
) -> None:
    """Log lines, oldest first; --follow keeps printing new ones until the process ends.

    With --follow and -o json, each new line is one JSON object per line (JSON Lines).
    Ctrl-C stops following.
    """
    if not processid and not executor:
        fail("give --processid or --executor")
    colony = env.colony()
    with env.client() as client:
        entries = client.get_logs(colony, processid=processid, executor_name=executor, count=count)
        if not follow:
            emit(entries, LOG_COLUMNS, output, no_headers)
            return
        try:
            _follow(client, colony, processid, executor, entries, output, no_headers)
        except KeyboardInterrupt:
            return


def _follow(
    client: Any,
    colony: str,
    processid: str,
    executor: str,
    entries: list[Any],
    output: str,
    no_headers: bool,
) -> None:
    def show(batch: list[Any], headers: bool) -> None:
        if output == "json":
            for entry in batch:
                click.echo(json.dumps(msgspec.to_builtins(entry)))
        elif batch or headers:
            emit(batch, LOG_COLUMNS, output, no_headers=not headers)

    show(entries, not no_headers)
    since = entries[-1].timestamp if entries else 0
    while True:
        # Read the state first: lines are only added while the process runs, so a read of the
        # log after seeing it finished has them all.
        done = bool(processid) and client.get_process(processid).state not in _UNFINISHED
        new = client.get_logs(
            colony, processid=processid, executor_name=executor, count=_LOG_PAGE, since=since
        )
        show(new, False)
        if new:
            since = new[-1].timestamp
        if len(new) == _LOG_PAGE:
            continue  # more are waiting: read on at once
        if done:
            return
        time.sleep(0.5)


@log.command("search", epilog=MEMBER)
@click.option("--text", required=True)
@click.option("--days", type=int, default=1, show_default=True, help="At most 30.")
@click.option("--count", type=int, default=20, show_default=True, help="At most 100.")
@output_option
@no_headers_option
@pass_env
@errors
def log_search(env: Env, text: str, days: int, count: int, output: str, no_headers: bool) -> None:
    """Log lines containing TEXT from the last DAYS days."""
    with env.client() as client:
        emit(client.search_logs(env.colony(), text, days, count), LOG_COLUMNS, output, no_headers)


@click.group()
def attribute() -> None:
    """Process attributes."""


@attribute.command("add", epilog=EXECUTOR)
@click.option("--processid", required=True)
@click.option("--key", "name", required=True)
@click.option("--value", required=True)
@output_option
@pass_env
@errors
def attribute_add(env: Env, processid: str, name: str, value: str, output: str) -> None:
    """Add an output attribute to a process you run."""
    with env.client() as client:
        emit(client.add_attribute(processid, name, value), ATTRIBUTE_COLUMNS, output)


@attribute.command("get", epilog=MEMBER)
@click.argument("attributeid")
@output_option
@no_headers_option
@pass_env
@errors
def attribute_get(env: Env, attributeid: str, output: str, no_headers: bool) -> None:
    """One attribute."""
    with env.client() as client:
        emit(client.get_attribute(attributeid), ATTRIBUTE_COLUMNS, output, no_headers)
