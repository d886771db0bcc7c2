"""Enumerations of docs/protocol.md §5.2."""

from enum import IntEnum


class ProcessState(IntEnum):
    NOTSET = -1
    WAITING = 0
    RUNNING = 1
    SUCCESS = 2
    FAILED = 3
    CANCELLED = 4


class ExecutorState(IntEnum):
    PENDING = 0
    APPROVED = 1
    REJECTED = 2
    UNREGISTERED = 3


class AttributeType(IntEnum):
    IN = 0
    OUT = 1
    ERR = 2
    ENV = 3
