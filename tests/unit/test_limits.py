"""Request limits (core/limits.py) as the request decoder applies them, and only there."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from colonies.core import Cron, FunctionSpec, WorkflowSpec
from colonies.core.limits import (
    CRON_HORIZON_SECONDS,
    MAX_DEPTH,
    MAX_NAME,
    MAX_PATH,
    MAX_SECONDS,
    MAX_TEXT,
    MAX_WORKFLOW_NODES,
)
from colonies.core.wire import DecodeError, LimitError, decode, normalize_free_form
from colonies.rpc import RpcError, decode_payload, decode_request
from colonies.rpc.envelope import MAX_ERROR_TEXT, RequestEnvelope, encode_error
from colonies.rpc.messages import (
    AddCronMsg,
    AddFileMsg,
    AddLogMsg,
    AssignProcessMsg,
    CloseSuccessfulMsg,
    GetProcessHistMsg,
    SubmitFuncSpecMsg,
    SubmitWorkflowSpecMsg,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def refused(payload: dict[str, Any], tp: type) -> LimitError:
    with pytest.raises(LimitError) as err:
        decode(json.dumps(payload), tp, limits=True)
    return err.value


@pytest.mark.parametrize(
    ("payload", "tp", "message"),
    [
        (
            {"spec": {"conditions": {"colonyname": "c" * (MAX_NAME + 1)}}},
            SubmitFuncSpecMsg,
            f"String longer than {MAX_NAME} characters - at `$.spec.conditions.colonyname`",
        ),
        (
            {"file": {"label": "/" * (MAX_PATH + 1)}},
            AddFileMsg,
            f"String longer than {MAX_PATH} characters - at `$.file.label`",
        ),
        (
            {"message": "m" * (MAX_TEXT + 1)},
            AddLogMsg,
            f"String longer than {MAX_TEXT} characters - at `$.message`",
        ),
        (
            {"spec": {"funcname": "f\x00"}},
            SubmitFuncSpecMsg,
            "String holds U+0000, which cannot be stored - at `$.spec.funcname`",
        ),
        (
            {"spec": {"kwargs": {"a": {"b\x00": 1}}}},
            SubmitFuncSpecMsg,
            "Key holds U+0000, which cannot be stored - at `$.spec.kwargs.a`",
        ),
        (
            {"out": [1, {"x": ["ok", "no\x00"]}]},
            CloseSuccessfulMsg,
            "String holds U+0000, which cannot be stored - at `$.out[1].x[1]`",
        ),
        (
            {"spec": {"args": ["fine", nested(MAX_DEPTH + 1)]}},
            SubmitFuncSpecMsg,
            f"Nested deeper than {MAX_DEPTH} levels - at `$.spec.args[1]`",
        ),
        (
            {"spec": {"maxwaittime": 10**12}},
            SubmitFuncSpecMsg,
            f"Integer larger than {MAX_SECONDS} - at `$.spec.maxwaittime`",
        ),
        (
            {"spec": {"priority": -99_999}},
            SubmitFuncSpecMsg,
            "Integer smaller than -50000 - at `$.spec.priority`",
        ),
        ({"seconds": 10**12}, GetProcessHistMsg, f"Integer larger than {MAX_SECONDS}"),
        ({"timeout": 2**40}, AssignProcessMsg, f"Integer larger than {MAX_SECONDS}"),
        (
            {"cron": {"interval": CRON_HORIZON_SECONDS + 1}},
            AddCronMsg,
            f"Integer larger than {CRON_HORIZON_SECONDS} - at `$.cron.interval`",
        ),
        (
            {"cron": {"cronexpression": "0 " * 600}},
            AddCronMsg,
            "String longer than 1024 characters - at `$.cron.cronexpression`",
        ),
        (
            {"spec": {"functionspecs": [{}] * (MAX_WORKFLOW_NODES + 1)}},
            SubmitWorkflowSpecMsg,
            f"List longer than {MAX_WORKFLOW_NODES} items - at `$.spec.functionspecs`",
        ),
        (
            {"spec": {"functionspecs": [{}, {"env": {"k" * 300: "v"}}]}},
            SubmitWorkflowSpecMsg,
            f"String longer than {MAX_NAME} characters - at "
            f"`$.spec.functionspecs[1].env.{'k' * 300}`",
        ),
    ],
    ids=[
        "name",
        "path",
        "text",
        "nul",
        "nul-key",
        "nul-free-form",
        "depth",
        "seconds",
        "priority",
        "hist-seconds",
        "timeout",
        "cron-interval",
        "cron-expression",
        "workflow-size",
        "env-key",
    ],
)
def test_a_value_beyond_its_limit_is_refused_with_its_path(payload, tp, message):
    assert str(refused(payload, tp)).startswith(message)


def test_values_at_their_limits_pass():
    spec = {
        "nodename": "n" * MAX_NAME,
        "args": [nested(MAX_DEPTH - 1, 1.0)],
        "kwargs": {"k": "v" * 1000},
        "priority": 50_000,
        "maxwaittime": MAX_SECONDS,
        "maxexectime": -1,
        "conditions": {"dependencies": ["d"] * MAX_WORKFLOW_NODES},
    }
    msg = decode(json.dumps({"spec": spec}), SubmitFuncSpecMsg, limits=True)
    assert msg.spec is not None and msg.spec.nodename == "n" * MAX_NAME
    # Free-form values are normalised on the way (integral floats become integers).
    assert msg.spec.args == [nested(MAX_DEPTH - 1, 1)]


def test_without_limits_nothing_is_refused():
    """What the store reads back and the client decodes is never held to request limits: a
    row written before a limit existed stays readable."""
    spec = {"funcname": "f" * 10_000, "args": [nested(500)], "maxwaittime": 10**12}
    decoded = decode(json.dumps(spec), FunctionSpec)
    assert decoded.maxwaittime == 10**12 and len(decoded.funcname) == 10_000
    cron = decode(json.dumps({"interval": 10**12, "cronexpression": "x" * 5000}), Cron)
    assert cron.interval == 10**12
    big = decode(json.dumps({"functionspecs": [{}] * 5000}), WorkflowSpec)
    assert len(big.functionspecs) == 5000


def test_nesting_beyond_the_parser_is_a_limit_error_not_a_recursion_error():
    text = '{"spec": {"args": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    with pytest.raises(LimitError, match="Nested deeper than"):
        decode(text, SubmitFuncSpecMsg, limits=True)
    with pytest.raises(DecodeError):
        decode(text, SubmitFuncSpecMsg)


def test_free_form_normalisation_needs_no_recursion():
    deep = nested(20_000, 2.0)
    assert normalize_free_form(deep) is deep  # in place, however deep
    leaf = deep
    for _ in range(20_000):
        leaf = leaf[0]
    assert leaf == 2 and type(leaf) is int
    with pytest.raises(LimitError):
        normalize_free_form(nested(MAX_DEPTH + 1), MAX_DEPTH)


def envelope_of(payloadtype: str, payload: Any) -> RequestEnvelope:
    text = base64.b64encode(json.dumps(payload).encode()).decode()
    return RequestEnvelope(signature="", payloadtype=payloadtype, payload=text)


def test_the_pipeline_s_decode_step_answers_400_with_the_limit():
    env = envelope_of("submitfuncspecmsg", {"msgtype": "submitfuncspecmsg", "nonce": "n" * 300})
    with pytest.raises(RpcError) as err:
        decode_payload(env, SubmitFuncSpecMsg, "Failed to submit function spec")
    assert err.value.status == 400
    assert err.value.message == (
        f"Failed to submit function spec, String longer than {MAX_NAME} characters - at `$.nonce`"
    )


def test_a_deep_envelope_is_a_400():
    body = '{"signature": "", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(RpcError) as err:
        decode_request(body.encode())
    assert err.value.status == 400


def test_error_texts_are_cut_short():
    envelope = json.loads(encode_error(404, "Colony with name " + "x" * 100_000 + " not found"))
    message = json.loads(base64.b64decode(envelope["payload"]))["message"]
    assert len(message) == MAX_ERROR_TEXT and message.endswith("…")
    assert message.startswith("Colony with name xxx")
