"""Domain objects with their exact wire names, states and rules. No I/O."""

from colonies.core.objects import *  # noqa: F403
from colonies.core.objects import __all__ as _objects_all
from colonies.core.states import AttributeType, ExecutorState, ProcessState
from colonies.core.timeutil import ZERO_TIME, is_zero_time, utcnow

__all__ = [
    *_objects_all,
    "ZERO_TIME",
    "AttributeType",
    "ExecutorState",
    "ProcessState",
    "is_zero_time",
    "utcnow",
]
