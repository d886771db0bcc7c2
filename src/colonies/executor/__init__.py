"""Toolkit for writing executors: register, long-poll, run, stream logs, close or fail.

executor = Executor(url, key, colony="dev", name="worker-1", executortype="python")

@executor.function
def add(a: int, b: int) -> int:
    return a + b

executor.run()  # until SIGTERM/SIGINT
"""

from colonies.executor._builtin import echo_executor, python_executor
from colonies.executor._reconciler import FileSetReconciler, Reconciler
from colonies.executor._runtime import Executor, ProcessContext, RegistrationError, function

__all__ = [
    "Executor",
    "FileSetReconciler",
    "ProcessContext",
    "Reconciler",
    "RegistrationError",
    "echo_executor",
    "function",
    "python_executor",
]
