"""Spec files in upstream's formats: a function spec is a JSON object; a workflow is a JSON
list of function specs (or an object with ``functionspecs``), as the Go CLI reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from colonies.cli._common import fail
from colonies.core import FunctionSpec, WorkflowSpec
from colonies.core.wire import DecodeError, decode_value


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"cannot read the {what} {path}: {exc.strerror or exc}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"the {what} {path} is not valid JSON: {exc}")


def load_function_spec(path: Path) -> FunctionSpec:
    """A function spec file (upstream's ``colonies function submit --spec`` format)."""
    value = _read_json(path, "function spec")
    if isinstance(value, list):
        fail(
            f"{path} is a list of function specs, a workflow: "
            f"submit it with colonies workflow submit --spec {path}"
        )
    try:
        spec = decode_value(value, FunctionSpec)
    except DecodeError as exc:
        fail(f"the function spec {path} does not fit: {exc}")
    if not spec.funcname:
        fail(f"the function spec {path} has no funcname")
    return spec


def load_workflow_spec(path: Path, colony: str) -> WorkflowSpec:
    """A workflow file: a JSON list of function specs (upstream's format) or a WorkflowSpec
    object; ``colony`` (may be empty) fills in where the file names none."""
    value = _read_json(path, "workflow spec")
    if isinstance(value, dict) and "functionspecs" not in value and "funcname" in value:
        fail(
            f"{path} is one function spec, not a workflow: "
            f"submit it with colonies function submit --spec {path}"
        )
    if isinstance(value, list):
        value = {"functionspecs": value}
    try:
        spec = decode_value(value, WorkflowSpec)
    except DecodeError as exc:
        fail(f"the workflow spec {path} does not fit: {exc}")
    if not spec.functionspecs:
        fail(f"the workflow spec {path} has no function specs")
    spec.colonyname = spec.colonyname or colony
    if not spec.colonyname:
        fail("no colony: set COLONIES_COLONY_NAME, pass --colony or name it in the spec file")
    for fs in spec.functionspecs:
        fs.conditions.colonyname = fs.conditions.colonyname or spec.colonyname
    return spec
