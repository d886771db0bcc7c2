"""Reconcilers: executors that make the actual state match a blueprint's desired state.

A reconciler serves the functions ``reconcile`` (kwargs ``kind``, optionally ``blueprintName``
and ``force``) and ``cleanup`` (kwargs ``blueprintName``). For each blueprint it compares what
the spec declares with what it observes, acts on the difference and reports a status.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from colonies.core import Blueprint
from colonies.executor._runtime import Executor, ProcessContext


class Reconciler(Executor):
    """Subclass and implement :meth:`reconcile_one` (and :meth:`cleanup_one`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.functions["reconcile"] = self._reconcile
        self.functions["cleanup"] = self._cleanup

    async def reconcile_one(self, blueprint: Blueprint, force: bool) -> dict[str, Any]:
        """Make the actual state match ``blueprint.spec``; return the status to report."""
        raise NotImplementedError

    async def cleanup_one(self, name: str, kind: str) -> None:
        """Remove what a removed blueprint left behind."""

    async def _reconcile(
        self, ctx: ProcessContext, kind: str = "", blueprintName: str = "", force: bool = False
    ) -> list[str]:
        if blueprintName:
            blueprints = [await self.client.get_blueprint(self.colony, blueprintName)]
        else:
            blueprints = await self.client.get_blueprints(self.colony, kind, self.location)
        reconciled = []
        for blueprint in blueprints:
            status = await self.reconcile_one(blueprint, force)
            status.setdefault("observedGeneration", blueprint.metadata.generation)
            await self.client.update_blueprint_status(self.colony, blueprint.metadata.name, status)
            await ctx.alog(f"reconciled {blueprint.kind}/{blueprint.metadata.name}: {status}")
            reconciled.append(blueprint.metadata.name)
        return reconciled

    async def _cleanup(self, ctx: ProcessContext, blueprintName: str = "", kind: str = "") -> None:
        await self.cleanup_one(blueprintName, kind)


class FileSetReconciler(Reconciler):
    """A real example: each blueprint declares files (``spec.files``: name -> content) in a
    directory of its own under ``root``; drift (a missing, changed or extra file) is repaired.
    """

    def __init__(self, *args: Any, root: str | Path, **kwargs: Any) -> None:
        kwargs.setdefault("executortype", "fileset-reconciler")
        super().__init__(*args, **kwargs)
        self.root = Path(root)

    def directory(self, name: str) -> Path:
        return self.root / name

    async def reconcile_one(self, blueprint: Blueprint, force: bool) -> dict[str, Any]:
        desired: dict[str, str] = {
            str(k): str(v) for k, v in dict(blueprint.spec.get("files") or {}).items()
        }
        directory = self.directory(blueprint.metadata.name)
        directory.mkdir(parents=True, exist_ok=True)
        repaired: list[str] = []
        for name, content in sorted(desired.items()):
            path = directory / name
            if force or not path.is_file() or path.read_text() != content:
                path.write_text(content)
                repaired.append(name)
        removed = []
        for path in sorted(directory.iterdir()):
            if path.name not in desired and path.is_file():
                path.unlink()
                removed.append(path.name)
        return {"files": len(desired), "repaired": repaired, "removed": removed, "ready": True}

    async def cleanup_one(self, name: str, kind: str) -> None:
        directory = self.directory(name)
        if directory.is_dir():
            for path in directory.iterdir():
                path.unlink()
            os.rmdir(directory)
