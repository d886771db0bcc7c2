"""Built-in executors: ``echo`` (returns its arguments) and ``python`` (registered callables)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from colonies.executor._runtime import Executor


def echo_executor(url: str, key: Any, **kwargs: Any) -> Executor:
    """An executor whose function ``echo`` returns its arguments as its output."""
    kwargs.setdefault("executortype", "echo")
    executor = Executor(url, key, **kwargs)

    @executor.function(name="echo")
    def echo(*args: Any, **_kwargs: Any) -> list[Any]:
        return list(args)

    return executor


def python_executor(url: str, key: Any, modules: list[str], **kwargs: Any) -> Executor:
    """An executor serving every public function defined in the given Python modules."""
    kwargs.setdefault("executortype", "python")
    executor = Executor(url, key, **kwargs)
    for name in modules:
        module = importlib.import_module(name)
        for attr, member in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(member):
                continue
            if member.__module__ != module.__name__:
                continue  # imported helpers are not the module's functions
            executor.function(member, name=attr)
    return executor
