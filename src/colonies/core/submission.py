"""Turning a submitted FunctionSpec into a new Process (docs/protocol.md §7.1 to §7.4). No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from colonies.core.objects import Attribute, FunctionSpec, Process
from colonies.core.resources import format_cpu, format_mem, parse_cpu, parse_mem
from colonies.core.scheduling import (
    MAX_CHANNELS,
    MAX_PRIORITY,
    MIN_PRIORITY,
    has_limit,
    priority_time,
)
from colonies.core.states import AttributeType, ProcessState
from colonies.core.timeutil import ZERO_TIME, to_unix_ns

__all__ = ["NewProcess", "SubmissionError", "attribute_id", "new_process"]


class SubmissionError(ValueError):
    """The spec breaks a rule of docs/protocol.md §7.1 or §7.2."""


@dataclass(frozen=True, slots=True)
class NewProcess:
    """A validated process with the matching keys the claim query filters on."""

    process: Process
    colonyname: str
    executortype: str
    executornames: list[str]
    location_lc: str
    req_cpu: int
    req_mem: int


def attribute_id(targetid: str, key: str, attributetype: int) -> str:
    from hashlib import sha3_256

    return sha3_256(f"{targetid}{key}{attributetype}".encode()).hexdigest()


def new_process(
    spec: FunctionSpec,
    *,
    processid: str,
    initiatorid: str,
    initiatorname: str,
    now: datetime,
    processgraphid: str = "",
    waitforparents: bool = False,
) -> NewProcess:
    if not MIN_PRIORITY <= spec.priority <= MAX_PRIORITY:
        raise SubmissionError(f"priority must be in [{MIN_PRIORITY}, {MAX_PRIORITY}]")
    if len(spec.channels) > MAX_CHANNELS:
        raise SubmissionError(f"a process may have at most {MAX_CHANNELS} channels")
    if len(set(spec.channels)) != len(spec.channels) or "" in spec.channels:
        raise SubmissionError("channel names must be unique and non-empty")
    conditions = spec.conditions
    try:
        cpu = parse_cpu(conditions.cpu)
        mem = parse_mem(conditions.mem)
        storage = parse_mem(conditions.storage)
    except ValueError as exc:
        raise SubmissionError(str(exc)) from None
    # Read back normalised (§7.2): "<millicores>m" and "<MiB>Mi".
    conditions.cpu = format_cpu(cpu)
    conditions.mem = format_mem(mem)
    conditions.storage = format_mem(storage)
    attributes = [
        Attribute(
            attributeid=attribute_id(processid, key, AttributeType.ENV),
            targetid=processid,
            targetcolonyname=conditions.colonyname,
            targetprocessgraphid=processgraphid,
            state=ProcessState.WAITING,
            attributetype=AttributeType.ENV,
            key=key,
            value=value,
        )
        for key, value in spec.env.items()
    ]
    process = Process(
        processid=processid,
        initiatorid=initiatorid,
        initiatorname=initiatorname,
        state=ProcessState.WAITING,
        prioritytime=priority_time(to_unix_ns(now), spec.priority),
        submissiontime=now,
        waitdeadline=now + timedelta(seconds=spec.maxwaittime)
        if has_limit(spec.maxwaittime)
        else ZERO_TIME,
        attributes=attributes,
        spec=spec,
        waitforparents=waitforparents,
        processgraphid=processgraphid,
    )
    return NewProcess(
        process=process,
        colonyname=conditions.colonyname,
        executortype=conditions.executortype,
        executornames=list(conditions.executornames),
        location_lc=conditions.locationname.lower(),
        req_cpu=cpu,
        req_mem=mem,
    )
