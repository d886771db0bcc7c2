"""Blueprints: declared state that reconciler executors keep true, and the definitions of their
kinds (docs/protocol.md §6.16, §7.14)."""

from __future__ import annotations

from typing import Any

from colonies.client._base import ClientBase, KeyArg, sends, wire
from colonies.core import Blueprint, BlueprintDefinition, BlueprintHistory, Process


class BlueprintMethods(ClientBase):
    # --- definitions --------------------------------------------------------------------------
    @sends("addblueprintdefinitionmsg")
    async def add_blueprint_definition(
        self, definition: BlueprintDefinition, *, key: KeyArg = None
    ) -> BlueprintDefinition:
        """Add a kind: its schema and its handler executor type (colony owner)."""
        return await self._typed(
            BlueprintDefinition,
            "addblueprintdefinitionmsg",
            key,
            blueprintdefinition=wire(definition),
        )

    @sends("getblueprintdefinitionmsg")
    async def get_blueprint_definition(
        self, colony: str, name: str, *, key: KeyArg = None
    ) -> BlueprintDefinition:
        """One definition by name."""
        return await self._typed(
            BlueprintDefinition, "getblueprintdefinitionmsg", key, colonyname=colony, name=name
        )

    @sends("getblueprintdefinitionsmsg")
    async def get_blueprint_definitions(
        self, colony: str, *, key: KeyArg = None
    ) -> list[BlueprintDefinition]:
        """The colony's definitions, by name."""
        return await self._typed(
            list[BlueprintDefinition], "getblueprintdefinitionsmsg", key, colonyname=colony
        )

    @sends("removeblueprintdefinitionmsg")
    async def remove_blueprint_definition(
        self, colony: str, name: str, *, key: KeyArg = None
    ) -> None:
        """Remove a definition no blueprint uses any more (colony owner)."""
        await self.call("removeblueprintdefinitionmsg", key, namespace=colony, name=name)

    # --- blueprints ---------------------------------------------------------------------------
    @sends("addblueprintmsg")
    async def add_blueprint(self, blueprint: Blueprint, *, key: KeyArg = None) -> Blueprint:
        """Add a blueprint (its spec must satisfy its kind's schema); a reconcile process is
        submitted at once."""
        return await self._typed(Blueprint, "addblueprintmsg", key, blueprint=wire(blueprint))

    @sends("getblueprintmsg")
    async def get_blueprint(self, colony: str, name: str, *, key: KeyArg = None) -> Blueprint:
        """One blueprint with its spec and the status its reconciler reported."""
        return await self._typed(Blueprint, "getblueprintmsg", key, namespace=colony, name=name)

    @sends("getblueprintsmsg")
    async def get_blueprints(
        self, colony: str, kind: str = "", location: str = "", *, key: KeyArg = None
    ) -> list[Blueprint]:
        """The colony's blueprints by name, optionally of one kind and location."""
        return await self._typed(
            list[Blueprint],
            "getblueprintsmsg",
            key,
            namespace=colony,
            kind=kind,
            locationname=location,
        )

    @sends("updateblueprintmsg")
    async def update_blueprint(
        self, blueprint: Blueprint, force_generation: bool = False, *, key: KeyArg = None
    ) -> Blueprint:
        """Replace a blueprint's spec; a change (or ``force_generation``) raises its
        generation, is written to its history and reconciled."""
        return await self._typed(
            Blueprint,
            "updateblueprintmsg",
            key,
            blueprint=wire(blueprint),
            forcegeneration=force_generation,
        )

    @sends("removeblueprintmsg")
    async def remove_blueprint(self, colony: str, name: str, *, key: KeyArg = None) -> None:
        """Remove a blueprint; its reconciler gets a cleanup process."""
        await self.call("removeblueprintmsg", key, namespace=colony, name=name)

    @sends("updateblueprintstatusmsg")
    async def update_blueprint_status(
        self, colony: str, name: str, status: dict[str, Any], *, key: KeyArg = None
    ) -> None:
        """Replace a blueprint's status (what a reconciler observed)."""
        await self.call(
            "updateblueprintstatusmsg", key, colonyname=colony, blueprintname=name, status=status
        )

    @sends("reconcileblueprintmsg")
    async def reconcile_blueprint(
        self, colony: str, name: str, force: bool = False, *, key: KeyArg = None
    ) -> Process:
        """Submit a reconcile process now; ``force`` raises the generation too."""
        return await self._typed(
            Process, "reconcileblueprintmsg", key, namespace=colony, name=name, force=force
        )

    @sends("getblueprinthistorymsg")
    async def get_blueprint_history(
        self, blueprintid: str, limit: int = 0, *, key: KeyArg = None
    ) -> list[BlueprintHistory]:
        """A blueprint's changes, newest first (``limit`` 0: all)."""
        return await self._typed(
            list[BlueprintHistory], "getblueprinthistorymsg", key, blueprintid=blueprintid,
            limit=limit,
        )  # fmt: skip
