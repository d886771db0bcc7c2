"""Blueprints: definitions, instances, history, status, reconcile, and a real drift repair."""

from __future__ import annotations

import asyncio

import pytest

from colonies.client import AsyncClient, ColoniesError
from colonies.core import Blueprint, BlueprintDefinition, BlueprintMetadata
from colonies.crypto import generate_private_key
from colonies.executor import FileSetReconciler
from tests.helpers import eventually

SCHEMA = {
    "type": "object",
    "properties": {"files": {"type": "object"}, "replicas": {"type": "integer"}},
    "required": ["files"],
}


def _definition(colony, interval: int) -> BlueprintDefinition:
    from colonies.core import BlueprintDefinitionSpec, BlueprintNames

    return BlueprintDefinition(
        metadata=BlueprintMetadata(name="filesets", colonyname=colony.name),
        spec=BlueprintDefinitionSpec(
            group="demo", version="v1", scope="Namespaced",
            names=BlueprintNames(kind="FileSet", plural="filesets", singular="fileset"),
            schema=SCHEMA,
            handler={"executorType": "fileset-reconciler", "functionName": "reconcile",
                     "reconcileInterval": interval},
        ),
    )  # fmt: skip


def blueprint(colony, name: str, files: dict[str, str], location: str = "") -> Blueprint:
    return Blueprint(
        kind="FileSet",
        metadata=BlueprintMetadata(name=name, colonyname=colony.name, locationname=location),
        spec={"files": files},
    )


async def expect(call, status: int, text: str = ""):
    with pytest.raises(ColoniesError) as err:
        await call
    assert err.value.status == status, err.value
    assert text in err.value.message, err.value.message


async def test_definition_and_blueprint_lifecycle(server, colony):
    async with AsyncClient(server.url, colony.user) as user:
        owner = colony.owner
        await expect(user.add_blueprint_definition(_definition(colony, 0)), 403, "Access denied")
        d = await user.add_blueprint_definition(_definition(colony, 0), key=owner)
        assert d.blueprintdefinitionid and d.spec.names.kind == "FileSet"
        assert [x.metadata.name for x in await user.get_blueprint_definitions(colony.name)] == [
            "filesets"
        ]
        assert (await user.get_blueprint_definition(colony.name, "filesets", key=owner)).kind
        # Schema violations, unknown kinds and duplicates are 400.
        bad = blueprint(colony, "bad", {})
        bad.spec = {"files": "not an object"}
        await expect(user.add_blueprint(bad), 400, "spec.files must be of type object")
        missing = blueprint(colony, "m", {})
        missing.spec = {}
        await expect(user.add_blueprint(missing), 400, "spec.files is required")
        unknown = blueprint(colony, "u", {})
        unknown.kind = "Nope"
        await expect(user.add_blueprint(unknown), 400, "BlueprintDefinition for kind 'Nope'")
        b = await user.add_blueprint(blueprint(colony, "web", {"a.txt": "1"}, location="Lab"))
        await expect(user.add_blueprint(blueprint(colony, "web", {})), 400, "already exists")
        await user.add_blueprint(blueprint(colony, "db", {"b.txt": "2"}))
        # One reconcile cron per kind and location; an immediate reconcile process each.
        crons = await user.call("getcronsmsg", colonyname=colony.name, count=10)
        assert sorted(c["name"] for c in crons) == ["reconcile-FileSet", "reconcile-FileSet-Lab"]
        waiting = await user.get_processes(colony.name, 0, executortype="fileset-reconciler")
        assert sorted(p.spec.kwargs["blueprintName"] for p in waiting) == ["db", "web"]
        # Filters, update with a generation bump, history.
        assert [
            x.metadata.name for x in await user.get_blueprints(colony.name, "FileSet", "Lab")
        ] == ["web"]
        b.spec = {"files": {"a.txt": "2"}}
        updated = await user.update_blueprint(b)
        assert updated.metadata.generation == 2
        same = await user.update_blueprint(updated)
        assert same.metadata.generation == 2  # unchanged spec: no bump
        forced = await user.update_blueprint(updated, force_generation=True)
        assert forced.metadata.generation == 3
        history = await user.get_blueprint_history(b.blueprintid)
        assert [h.changetype for h in history] == ["update", "update", "create"]
        assert history[0].changedby == colony.user.id
        # Status updates are atomic replacements.
        await user.update_blueprint_status(colony.name, "web", {"ready": True})
        assert (await user.get_blueprint(colony.name, "web")).status == {"ready": True}
        await expect(user.update_blueprint_status(colony.name, "nope", {}), 404)
        process = await user.reconcile_blueprint(colony.name, "web", force=True)
        assert process.spec.kwargs == {"kind": "FileSet", "blueprintName": "web", "force": True}
        # A definition in use cannot go; removing the last of a kind drops its cron.
        await expect(user.remove_blueprint_definition(colony.name, "filesets", key=owner), 400)
        await user.remove_blueprint(colony.name, "web")
        crons = await user.call("getcronsmsg", colonyname=colony.name, count=10)
        assert [c["name"] for c in crons] == ["reconcile-FileSet"]
        cleanup = await user.get_processes(colony.name, 0, executortype="fileset-reconciler")
        assert any(p.spec.funcname == "cleanup" for p in cleanup)
        assert (await user.get_blueprint_history(b.blueprintid))[0].changetype == "delete"
        await user.remove_blueprint(colony.name, "db")
        assert await user.call("getcronsmsg", colonyname=colony.name, count=10) == []
        await user.remove_blueprint_definition(colony.name, "filesets", key=owner)
        await expect(user.get_blueprint(colony.name, "db"), 404)


async def test_drift_is_detected_and_repaired(server, colony, tmp_path):
    async with AsyncClient(server.url, colony.user) as user:
        await user.add_blueprint_definition(_definition(colony, interval=1), key=colony.owner)
        reconciler = FileSetReconciler(
            server.url, generate_private_key(), colony=colony.name, name="files-1",
            colony_key=colony.owner, root=tmp_path, poll_timeout=2,
        )  # fmt: skip
        serving = asyncio.create_task(reconciler.serve())
        try:
            await user.add_blueprint(blueprint(colony, "site", {"index.html": "hello", "b": "x"}))
            target = tmp_path / "site" / "index.html"

            await eventually(lambda: target.is_file() and target.read_text() == "hello")
            # Break the actual state by hand: the periodic reconcile repairs it.
            target.write_text("vandalised")
            (tmp_path / "site" / "b").unlink()
            (tmp_path / "site" / "extra").write_text("?")
            await eventually(
                lambda: (
                    target.read_text() == "hello"
                    and (tmp_path / "site" / "b").is_file()
                    and not (tmp_path / "site" / "extra").exists()
                )
            )
            status = (await user.get_blueprint(colony.name, "site")).status
            assert status["files"] == 2 and status["ready"] is True
            # A spec change is applied at once, and history shows both versions.
            b = await user.get_blueprint(colony.name, "site")
            b.spec = {"files": {"index.html": "v2"}}
            await user.update_blueprint(b)
            await eventually(
                lambda: target.read_text() == "v2" and not (tmp_path / "site" / "b").exists()
            )
            history = await user.get_blueprint_history(b.blueprintid)
            assert [h.spec["files"] for h in reversed(history)] == [
                {"index.html": "hello", "b": "x"}, {"index.html": "v2"},
            ]  # fmt: skip
        finally:
            reconciler.stop()
            await asyncio.wait_for(serving, 15)


async def test_blueprint_cli(server, colony, tmp_path):
    import json as _json

    import msgspec
    from click.testing import CliRunner

    from colonies.cli.main import cli

    env = {
        "COLONIES_SERVER_HOST": "127.0.0.1",
        "COLONIES_SERVER_PORT": str(server.port),
        "COLONIES_PRVKEY": colony.user.text,
        "COLONIES_COLONY_PRVKEY": colony.owner.text,
        "COLONIES_COLONY_NAME": colony.name,
    }

    async def run(*args: str) -> str:
        result = await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    definition_file = tmp_path / "definition.json"
    definition_file.write_bytes(msgspec.json.encode(_definition(colony, 0)))
    await run("blueprint", "definition", "add", "--spec", str(definition_file))
    assert "FileSet" in await run("blueprint", "definition", "ls")
    spec_file = tmp_path / "blueprint.json"
    spec_file.write_text(_json.dumps({"kind": "FileSet", "metadata": {"name": "cli-site"},
                                      "spec": {"files": {"a": "1"}}}))  # fmt: skip
    await run("blueprint", "add", "--spec", str(spec_file))
    await run("blueprint", "set", "--name", "cli-site", "--path", "replicas", "--value", "3")
    got = _json.loads(await run("blueprint", "get", "--name", "cli-site", "-o", "json"))
    assert got["spec"] == {"files": {"a": "1"}, "replicas": 3}
    assert got["metadata"]["generation"] == 2
    history = _json.loads(await run("blueprint", "history", "--name", "cli-site", "-o", "json"))
    assert [h["changetype"] for h in history] == ["update", "create"]
    listed = _json.loads(await run("blueprint", "ls", "--kind", "FileSet", "-o", "json"))
    assert [b["metadata"]["name"] for b in listed] == ["cli-site"]
    await run("blueprint", "remove", "--name", "cli-site")
    await run("blueprint", "definition", "remove", "--name", "filesets")
