"""``colonies function``: register functions, list and remove them, submit work."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path
from typing import Any

import click

from colonies.cli._common import (
    EXECUTOR,
    MEMBER,
    Env,
    errors,
    fail,
    pass_env,
)
from colonies.cli._output import Column, emit, output_option, output_options, spinner, state_name
from colonies.cli._specs import load_function_spec
from colonies.cli.process import PROCESS_COLUMNS
from colonies.client import AsyncClient, Client
from colonies.core import Conditions, Function, FunctionSpec, Process, ProcessState
from colonies.crypto import new_random_id

FUNCTION_COLUMNS: list[Column] = [
    ("FUNC", lambda f: f.funcname),
    ("EXECUTOR", lambda f: f.executorname),
    ("TYPE", lambda f: f.executortype),
    ("CALLS", lambda f: f.counter),
    ("AVG EXEC S", lambda f: f"{f.avgexectime:.3f}"),
    ("FUNCTIONID", lambda f: f.functionid),
]
_ENDS = (ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED)
_UNFINISHED = (ProcessState.WAITING, ProcessState.RUNNING)
_LOG_PAGE = 500  # the most getlogsmsg returns


@click.group()
def function() -> None:
    """Functions: register one for an executor, list and remove them, submit work."""


@function.command(
    "register", epilog=EXECUTOR + " Executor name: COLONIES_EXECUTOR_NAME (--executor)."
)
@click.option("--name", "--func", "funcname", required=True, help="Function name.")
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
@output_options
@pass_env
@errors
def function_ls(env: Env, executor: str, output: str, no_headers: bool) -> None:
    """List functions of the colony."""
    with env.client() as client:
        emit(client.get_functions(env.colony(), executor), FUNCTION_COLUMNS, output, no_headers)


@function.command("remove", epilog=EXECUTOR)
@click.option("--functionid", required=True, help="The function's ID (colonies function ls).")
@pass_env
@errors
def function_remove(env: Env, functionid: str) -> None:
    """Stop advertising a function (signed by the executor that registered it)."""
    with env.client() as client:
        client.remove_function(functionid)
    click.echo(f"function {functionid} removed")


# --- submitting -------------------------------------------------------------------------------
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


async def _wait_for(env: Env, processid: str, timeout: float) -> Process:
    async with env.async_client() as client:
        return await _finished(client, processid, timeout)


def _follow_until_done(client: Client, colony: str, processid: str, timeout: float) -> Process:
    """Print the process's log lines as they come until it ends (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    since = 0
    while True:
        # The state first: lines are only added while it runs, so a read after seeing it
        # ended has them all.
        process = client.get_process(processid)
        new = client.get_logs(colony, processid=processid, count=_LOG_PAGE, since=since)
        for entry in new:
            click.echo(entry.message.rstrip("\n"))
        if new:
            since = new[-1].timestamp
        if len(new) == _LOG_PAGE:
            continue
        if process.state not in _UNFINISHED or time.monotonic() >= deadline:
            return process
        time.sleep(0.5)


# Options that describe the function; a --spec file describes it instead.
_SPEC_OPTIONS = (
    "funcname", "args", "args_json", "kwargs_json", "executortype", "priority", "maxexectime",
    "maxwaittime", "maxretries", "env_vars",
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
            "--" + n.removesuffix("_json").removesuffix("_vars").replace("funcname", "func")
            for n in given
        )
        fail(f"--spec describes the whole function: drop {options}")
    spec = load_function_spec(spec_file)
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


def parse_args(args: tuple[str, ...], args_text: str | None) -> list[Any]:
    """``--arg`` (strings, repeatable) or ``--args``: a JSON list, or upstream's
    comma-separated strings (``--args a,b``); not both."""
    if args and args_text is not None:
        raise click.UsageError(
            "give --arg (repeatable) or --args, not both: e.g. --args '[\"x\", 1]'"
        )
    if args_text is None:
        return list(args)
    if args_text.lstrip().startswith(("[", "{")):
        try:
            value = json.loads(args_text)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"--args is not valid JSON: {exc}") from None
        if not isinstance(value, list):
            raise click.BadParameter("--args must be a JSON list, e.g. '[1, \"a\"]'")
        return value
    return args_text.split(",") if args_text else []


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """``--kwargs``: a JSON object, or upstream's ``key:value,key:value``."""
    if text is None:
        return {}
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"--kwargs is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise click.BadParameter("--kwargs must be a JSON object, e.g. '{\"n\": 1}'")
        return value
    pairs: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition(":")
        if not sep or not name:
            raise click.BadParameter(f"--kwargs: {item!r} is not key:value (or give JSON)")
        pairs[name] = value
    return pairs


def parse_env(items: tuple[str, ...]) -> dict[str, str]:
    """``--env KEY=VALUE`` (repeatable; upstream's ``--env A=1,B=2`` too)."""
    env: dict[str, str] = {}
    for item in items:
        for pair in filter(None, item.split(",")):
            name, sep, value = pair.partition("=")
            if not sep or not name:
                raise click.BadParameter(f"--env: {pair!r} is not KEY=VALUE")
            env[name] = value
    return env


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
    env_vars: tuple[str, ...],
) -> FunctionSpec:
    arguments = parse_args(args, args_json)
    kwargs = parse_kwargs(kwargs_json)
    variables = parse_env(env_vars)
    etype = executortype or env.config.executor_type
    if not etype:
        fail("no executor type: set COLONIES_EXECUTOR_TYPE or pass --type")
    return FunctionSpec(
        funcname=funcname,
        args=arguments,
        kwargs=kwargs,
        env=variables,
        priority=priority,
        maxexectime=maxexectime,
        maxwaittime=maxwaittime,
        maxretries=maxretries,
        label=label,
        conditions=Conditions(colonyname=env.colony(), executortype=etype),
    )


def _still_unfinished(process: Process, timeout: float) -> str:
    state = state_name(process.state).lower()
    pid = process.processid
    if process.state == ProcessState.WAITING:
        etype = process.spec.conditions.executortype
        why = f"no executor of type {etype!r} took it (colonies executor ls shows who is there)"
    else:
        why = "its executor has not finished it"
    return (
        f"process {pid} is still {state} after {timeout:g} s: {why}; it stays queued: "
        f"colonies process get {pid} to look again, colonies process cancel {pid} to drop it"
    )


def _report(process: Process, output: str, timeout: float) -> None:
    """The end of a waited-for process: its output (exit 0) or why not (exit 1)."""
    if output != "table":
        emit(process, PROCESS_COLUMNS, output)
    elif process.state == ProcessState.SUCCESS:
        for value in process.output:
            click.echo(value if isinstance(value, str) else json.dumps(value))
    if process.state in _UNFINISHED:
        fail(_still_unfinished(process, timeout))
    if process.state != ProcessState.SUCCESS:
        detail = "; ".join(process.errors) or "no error message"
        fail(f"process {process.processid} {state_name(process.state).lower()}: {detail}")


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
    env_vars: tuple[str, ...],
    wait: bool,
    follow: bool,
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
            maxexectime, maxwaittime, maxretries, label, env_vars,
        )  # fmt: skip
    if snapshot:
        _create_snapshots(env, spec)
    with env.client() as client:
        process = client.submit(spec)
        if follow:
            process = _follow_until_done(client, spec.conditions.colonyname, process.processid,
                                         timeout)  # fmt: skip
            _report(process, output, timeout)
            return
    if not wait:
        emit(process, PROCESS_COLUMNS, output)
        return
    with spinner(f"waiting for {process.processid[:16]}"):
        process = asyncio.run(_wait_for(env, process.processid, timeout))
    _report(process, output, timeout)


def _submit_options(fn: Any) -> Any:
    options = [
        click.option("--func", "funcname", help="Function name (or give --spec)."),
        click.option("--arg", "args", multiple=True, help="A string argument (repeatable)."),
        click.option(
            "--args", "args_json",
            help="Arguments as a JSON list ('[1, \"a\"]'), or strings separated by commas "
            "(upstream's --args a,b).",
        ),
        click.option(
            "--kwargs", "kwargs_json",
            help="Keyword arguments: a JSON object, or key:value,key:value.",
        ),
        click.option(
            "--env", "env_vars", multiple=True,
            help="An environment variable for the function, KEY=VALUE (repeatable).",
        ),
        click.option("--type", "--targettype", "executortype",
                     help="Executor type [COLONIES_EXECUTOR_TYPE]."),
        click.option("--priority", type=int, default=0, show_default=True),
        click.option("--maxexectime", type=int, default=-1, show_default=True, help="Seconds."),
        click.option("--maxwaittime", type=int, default=-1, show_default=True, help="Seconds."),
        click.option("--maxretries", type=int, default=-1, show_default=True),
        click.option("--label", default=""),
        click.option("--timeout", type=float, default=600, show_default=True,
                     help="For --wait and --follow, seconds."),
        click.option(
            "--follow", is_flag=True,
            help="Print the process's log lines as they come until it ends, then as --wait.",
        ),
        click.option("--out", "print_out", is_flag=True, hidden=True,
                     help="Upstream's flag: the output is printed with --wait anyway."),
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
def function_submit(env: Env, /, wait: bool, print_out: bool, **options: Any) -> None:
    """Submit a function spec; with --wait, print its output when it finishes.

    With --wait the output values are printed one a line (exit 0), or the errors of a failed
    or cancelled process on stderr (exit 1). A spinner shows on stderr when it is a terminal.
    """
    _submit(env, wait=wait, **options)


@function.command("exec", epilog=MEMBER + " Executor type: COLONIES_EXECUTOR_TYPE (--type).")
@_submit_options
@click.option("--wait", is_flag=True, hidden=True, help="Upstream's flag: exec always waits.")
@pass_env
@errors
def function_exec(env: Env, /, wait: bool, print_out: bool, **options: Any) -> None:
    """Submit and wait: the same as submit --wait."""
    _submit(env, wait=True, **options)
