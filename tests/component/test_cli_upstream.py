"""The upstream CLI's commands that `colonies` gained (workflow, cron, generator, location,
process pause/resume/status/psc, log add, function remove, executor create, chid, colony check,
blueprint doctor/log, config) and upstream's conventions (--json, -p, --insecure,
--skip-tls-verify, spec files in upstream's format), against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from colonies.cli.main import cli
from colonies.client import AsyncClient
from colonies.core import (
    Blueprint,
    BlueprintDefinition,
    BlueprintDefinitionSpec,
    BlueprintHandler,
    BlueprintMetadata,
    BlueprintNames,
    ProcessState,
)
from colonies.crypto import generate_private_key, parse_private_key
from tests.component.test_tls import make_ca_and_certificate
from tests.helpers import cli_env, eventually, make_config, start_server


class Cli:
    def __init__(self, server, colony) -> None:
        self.server, self.colony = server, colony

    async def run(self, *args: str, key=None, input: str | None = None, **extra) -> Result:
        env = cli_env(
            self.server, self.colony, key if key is not None else self.colony.user, **extra
        )
        return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env, input=input)

    async def ok(self, *args: str, **kw) -> str:
        result = await self.run(*args, **kw)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    async def json(self, *args: str, **kw):
        return json.loads(await self.ok(*args, "-o", "json", **kw))

    async def error(self, *args: str, **kw) -> str:
        result = await self.run(*args, **kw)
        assert result.exit_code == 1, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result.stderr


@pytest.fixture
def cli_(server, colony) -> Cli:
    return Cli(server, colony)


def _spec(colony, funcname: str, nodename: str = "", deps=(), **extra) -> dict:
    spec = {
        "funcname": funcname,
        "conditions": {"executortype": colony.executor_type, "dependencies": list(deps)},
        "maxexectime": -1,
        "maxwaittime": -1,
        "maxretries": -1,
        **extra,
    }
    if nodename:
        spec["nodename"] = nodename
    return spec


async def _serve(server, colony, count: int, fail: str = "") -> list[str]:
    """Run ``count`` processes as the colony's executor; the ones named ``fail`` fail."""
    done = []
    async with AsyncClient(server.url, colony.executor) as client:
        while len(done) < count:
            p = await client.assign(colony.name, 10)
            if p is None:
                continue
            if p.spec.funcname == fail:
                await client.close_failed(p.processid, ["it broke"])
            else:
                await client.close_successful(p.processid, [p.spec.funcname, *p.input])
            done.append(p.spec.funcname)
    return done


# --- workflows --------------------------------------------------------------------------------
async def test_workflow_commands(cli_: Cli, server, colony, tmp_path: Path):
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps([_spec(colony, "a", "a"), _spec(colony, "b", "b", ["a"])]))
    serving = asyncio.create_task(_serve(server, colony, 2))
    graph = await cli_.json("workflow", "submit", "--spec", str(wf), "--wait")
    assert await serving == ["a", "b"]
    assert graph["state"] == ProcessState.SUCCESS and len(graph["processids"]) == 2
    gid = graph["processgraphid"]
    table = await cli_.ok("workflow", "get", gid)
    members = [line.split()[:3] for line in table.split("\n\n")[1].splitlines()[1:]]
    assert [(m[0], m[2]) for m in members] == [("a", "a"), ("b", "b")]
    assert await cli_.json("workflow", "get", "--workflowid", gid) == await server.rpc.call(
        "getprocessgraphmsg", colony.user, processgraphid=gid
    )
    assert [g["processgraphid"] for g in await cli_.json("workflow", "pss")] == [gid]

    # An object with functionspecs works too; one that fails makes --wait exit 1.
    wf.write_text(json.dumps({"functionspecs": [_spec(colony, "boom", "boom")]}))
    serving = asyncio.create_task(_serve(server, colony, 1, fail="boom"))
    failed = await cli_.error("workflow", "submit", "--spec", str(wf), "--wait")
    await serving
    assert "failed (colonies workflow get" in failed
    assert len(await cli_.json("workflow", "psf")) == 1

    # Waiting ones: listed, cancelled, removed; ps lists running ones (none).
    stuck = tmp_path / "stuck.json"
    stuck.write_text(json.dumps([_spec(colony, "x", "x", conditions={"executortype": "nobody"})]))
    gid = (await cli_.json("workflow", "submit", "--spec", str(stuck)))["processgraphid"]
    assert [g["processgraphid"] for g in await cli_.json("workflow", "psw")] == [gid]
    assert await cli_.json("workflow", "ps") == []
    assert "cancelled" in await cli_.ok("workflow", "cancel", gid)
    assert [g["processgraphid"] for g in await cli_.json("workflow", "psc")] == [gid]
    assert "removed" in await cli_.ok("workflow", "remove", "--workflowid", gid)
    assert "not without --yes" in await cli_.error("workflow", "removeall", "--failed")
    assert "choose one state" in await cli_.error("workflow", "removeall", "--failed",
                                                  "--waiting", "--yes")  # fmt: skip
    await cli_.ok("workflow", "removeall", "--failed", "--yes")
    assert await cli_.json("workflow", "psf") == [] and len(await cli_.json("workflow", "pss")) == 1


async def test_spec_files_in_upstream_formats_and_their_mistakes(cli_: Cli, colony, tmp_path):
    func = tmp_path / "func.json"
    func.write_text(json.dumps(_spec(colony, "f", env={"A": "1"})))
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps([_spec(colony, "f", "f")]))
    assert "one function spec, not a workflow" in await cli_.error(
        "workflow", "submit", "--spec", str(func)
    )
    assert "colonies workflow submit --spec" in await cli_.error(
        "function", "submit", "--spec", str(wf)
    )
    submitted = await cli_.json("function", "submit", "--spec", str(func))
    assert submitted["spec"]["env"] == {"A": "1"}
    assert "cannot read the workflow spec" in await cli_.error(
        "workflow", "submit", "--spec", str(tmp_path / "missing.json")
    )
    (tmp_path / "bad.json").write_text("[{")
    assert "is not valid JSON" in await cli_.error(
        "workflow", "submit", "--spec", str(tmp_path / "bad.json")
    )


async def test_function_submit_env_args_kwargs_and_follow(cli_: Cli, server, colony):
    p = await cli_.json("function", "submit", "--func", "f", "--env", "A=1,B=2", "--env", "C=3",
                        "--args", "x,y", "--kwargs", "k:v")  # fmt: skip
    assert p["spec"]["env"] == {"A": "1", "B": "2", "C": "3"}
    assert p["spec"]["args"] == ["x", "y"] and p["spec"]["kwargs"] == {"k": "v"}
    assert "is not KEY=VALUE" in await cli_.error("function", "submit", "--func", "f",
                                                  "--env", "nope")  # fmt: skip
    await cli_.ok("process", "removeall", "--yes")

    async def executor() -> None:
        async with AsyncClient(server.url, colony.executor) as client:
            process = await client.assign(colony.name, 10)
            assert process is not None
            for i in range(3):
                await client.add_log(process.processid, f"step {i}\n")
                await asyncio.sleep(0.2)
            await client.close_successful(process.processid, ["done"])

    task = asyncio.create_task(executor())
    out = await cli_.ok("function", "submit", "--func", "f", "--follow", "--targettype",
                        colony.executor_type)  # fmt: skip
    await task
    assert out.splitlines() == ["step 0", "step 1", "step 2", "done"]


# --- crons and generators ---------------------------------------------------------------------
async def test_cron_commands(cli_: Cli, colony, tmp_path):
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps([_spec(colony, "tick", "tick")]))
    assert "one of them" in await cli_.error("cron", "add", "--spec", str(wf), "--name", "c")
    assert "one of them" in await cli_.error("cron", "add", "--spec", str(wf), "--name", "c",
                                             "--interval", "5", "--cron", "@daily")  # fmt: skip
    cron = await cli_.json("cron", "add", "--spec", str(wf), "--name", "hourly", "--interval",
                           "3600", "--waitprevious")  # fmt: skip
    assert cron["interval"] == 3600 and cron["waitforprevprocessgraph"] is True
    nightly = await cli_.json("cron", "add", "--spec", str(wf), "--name", "nightly", "--cron",
                              "0 0 3 * * *")  # fmt: skip
    assert nightly["cronexpression"] == "0 0 3 * * *"
    bad = await cli_.error("cron", "add", "--spec", str(wf), "--name", "b", "--cron", "* * * * *")
    assert "invalid cron expression" in bad
    listed = (await cli_.ok("cron", "ls")).splitlines()
    assert listed[0].split()[:3] == ["ID", "NAME", "SCHEDULE"]
    assert sorted(line.split()[1] for line in listed[1:]) == ["hourly", "nightly"]
    detail = await cli_.ok("cron", "get", cron["cronid"])
    assert "SCHEDULE       every 3600 s" in detail and "WORKFLOW       tick(tick)" in detail
    ran = await cli_.json("cron", "run", "--cronid", cron["cronid"])
    assert ran["prevprocessgraphid"]
    assert [g["processgraphid"] for g in await cli_.json("workflow", "psw")] == [
        ran["prevprocessgraphid"]
    ]
    await cli_.ok("cron", "remove", cron["cronid"])
    await cli_.ok("cron", "remove", "--cronid", nightly["cronid"])
    assert await cli_.json("cron", "ls") == []
    assert "(status 404)" in await cli_.error("cron", "get", cron["cronid"])


async def test_generator_commands(cli_: Cli, colony, tmp_path):
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps([_spec(colony, "batch", "batch")]))
    assert "at least 1" in await cli_.error("generator", "add", "--spec", str(wf), "--name",
                                            "g", "--trigger", "0")  # fmt: skip
    g = await cli_.json("generator", "add", "--spec", str(wf), "--name", "pairs", "--trigger", "2")
    out = await cli_.ok("generator", "pack", g["generatorid"], "--arg", "one")
    assert out.strip() == "packed 1 argument"
    by_name = await cli_.json("generator", "get", "--name", "pairs")
    assert by_name["generatorid"] == g["generatorid"] and by_name["queuesize"] == 1
    await cli_.ok("generator", "pack", "--generatorid", g["generatorid"], "--arg", "two")

    async def ran() -> bool:
        processes = await cli_.json("process", "psw")
        return [p["spec"]["args"] for p in processes] == [["one", "two"]]

    await eventually(ran, "a workflow with the two packed arguments")
    assert [x["name"] for x in await cli_.json("generator", "ls")] == ["pairs"]
    assert "one of them" in await cli_.error("generator", "get")
    await cli_.ok("generator", "remove", g["generatorid"])
    assert await cli_.json("generator", "ls") == []


# --- locations, processes, logs, functions ----------------------------------------------------
async def test_location_commands(cli_: Cli):
    added = await cli_.json("location", "add", "--name", "lab", "--desc", "the lab", "--long",
                            "18.1", "--lat", "59.3")  # fmt: skip
    assert added["description"] == "the lab" and added["long"] == 18.1
    assert (await cli_.ok("location", "ls", "--no-headers")).split()[0] == "lab"
    assert (await cli_.json("location", "get", "--name", "lab"))["lat"] == 59.3
    await cli_.ok("location", "remove", "--name", "lab")
    assert "(status 404)" in await cli_.error("location", "get", "--name", "lab")


async def test_process_pause_status_psc_and_upstream_flags(cli_: Cli, server, colony):
    assert "ACTIVE" in await cli_.ok("process", "status")
    await cli_.ok("process", "pause")
    assert (await cli_.json("process", "status"))["ispaused"] is True
    await cli_.ok("process", "resume")
    assert "ACTIVE" in await cli_.ok("process", "status")

    pid = (await cli_.json("function", "submit", "--func", "f"))["processid"]
    await cli_.ok("process", "cancel", "-p", pid)
    assert [p["processid"] for p in await cli_.json("process", "psc")] == [pid]
    assert "two different process IDs" in await cli_.error("process", "get", pid, "-p", "x" * 64)

    running = (await cli_.json("function", "submit", "--func", "f", "--label", "L"))["processid"]
    assert await cli_.json("process", "ps") == []  # ps: running processes, as upstream's
    await cli_.ok("process", "assign", "--timeout", "5", key=colony.executor)
    assert [p["processid"] for p in await cli_.json("process", "ps", "--label", "L")] == [running]
    assert [p["processid"] for p in await cli_.json("process", "psr")] == [running]
    await cli_.ok("log", "add", "-p", running, "-m", "hello from the CLI", key=colony.executor)
    assert "log line added" in await cli_.ok(
        "log", "add", "--processid", running, "--msg", "second", key=colony.executor
    )
    lines = await cli_.json("log", "get", "-p", running)
    assert [entry["message"] for entry in lines] == ["hello from the CLI", "second"]
    latest = await cli_.json("log", "get", "-p", running, "--latest", "--count", "1")
    assert [entry["message"] for entry in latest] == ["second"]
    await cli_.ok("process", "fail", "-p", running, "--errors", "a,b", key=colony.executor)
    got = await cli_.json("process", "get", "--processid", running)
    assert got["errors"] == ["a", "b"]


async def test_function_remove(cli_: Cli, colony):
    added = await cli_.json("function", "register", "--func", "f", key=colony.executor)
    listed = await cli_.ok("function", "ls")
    assert added["functionid"] in listed  # the table shows the ID to remove by
    await cli_.ok("function", "remove", "--functionid", added["functionid"], key=colony.executor)
    assert await cli_.json("function", "ls") == []


# --- identities -------------------------------------------------------------------------------
async def test_executor_create_prints_the_key_once_and_it_works(cli_: Cli, colony, tmp_path):
    out = await cli_.ok("executor", "create", "--name", "made", "--type", "t", "--approve")
    key = parse_private_key(next(line for line in out.splitlines()
                                 if line.startswith("PrvKey: "))[8:])  # fmt: skip
    assert f"Id: {key.id}" in out and "APPROVED" in out
    assert await cli_.json("process", "psw", key=key) == []  # a member: it may read

    keyfile = tmp_path / "made2.key"
    idfile = tmp_path / "made2.id"
    made = await cli_.run("executor", "create", "--name", "made2", "--type", "t", "--keypath",
                          str(keyfile), "--idpath", str(idfile), "-o", "json")  # fmt: skip
    assert made.exit_code == 0
    executor = json.loads(made.stdout)
    assert executor["state"] == 0  # pending: not approved without --approve
    stored = parse_private_key(keyfile.read_text().strip())
    assert stored.id == executor["executorid"] == idfile.read_text().strip()
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    assert stored.text not in made.output  # written to the file, not printed


async def test_the_four_id_rotations(cli_: Cli, server, colony, server_key):
    new = generate_private_key()
    await cli_.ok("user", "chid", "--new-key", new.text)
    assert "(status 403)" in await cli_.error("colony", "get")
    assert (await cli_.json("colony", "get", key=new))["name"] == colony.name

    new_executor = generate_private_key()
    await cli_.ok("executor", "chid", "--executorid", new_executor.id, key=colony.executor)
    await cli_.ok("process", "psw", key=new_executor)

    new_owner = generate_private_key()
    await cli_.ok("colony", "chid", "--colonyid", new_owner.id)
    assert "(status 403)" in await cli_.error("process", "pause")
    await cli_.ok("process", "pause", "--colony-key", new_owner.text)

    new_admin = generate_private_key()
    admin = {"COLONIES_SERVER_PRVKEY": server_key.text}
    await cli_.ok("server", "chid", "--serverid", new_admin.id, **admin)
    assert "(status 403)" in await cli_.error("colony", "ls", **admin)
    await cli_.ok("colony", "ls", "--server-key", new_admin.text)
    assert "64 hexadecimal characters" in await cli_.error("user", "chid", "--userid", "abc",
                                                           key=new)  # fmt: skip
    assert "one of them" in await cli_.error("user", "chid", key=new)


async def test_colony_check(cli_: Cli, colony):
    assert f"colony {colony.name} exists" in await cli_.ok("colony", "check")
    assert "does not exists" in await cli_.error("colony", "check", "--name", "nowhere")


# --- blueprints: doctor and log ---------------------------------------------------------------
async def test_blueprint_doctor_and_log(cli_: Cli, server, colony):
    async with AsyncClient(server.url, colony.user) as user:
        await user.add_blueprint_definition(
            BlueprintDefinition(
                metadata=BlueprintMetadata(name="things", colonyname=colony.name),
                spec=BlueprintDefinitionSpec(
                    names=BlueprintNames(kind="Thing"),
                    handler=BlueprintHandler(executorType=colony.executor_type),
                ),
            ),
            key=colony.owner,
        )
        await user.add_blueprint(
            Blueprint(kind="Thing", metadata=BlueprintMetadata(name="t1", colonyname=colony.name))
        )
    # The reconcile process waits: the doctor says so and exits 1.
    result = await cli_.run("blueprint", "doctor", "--name", "t1")
    assert result.exit_code == 1, result.output
    assert f"[OK] reconciler {colony.executor_name}" in result.stdout
    assert "[OK] reconcile cron reconcile-Thing" in result.stdout
    assert "is still waiting for a reconciler" in result.stdout
    assert "1 problem found" in result.stderr
    async with AsyncClient(server.url, colony.executor) as executor:
        p = await executor.assign(colony.name, 5)
        assert p is not None
        await executor.add_log(p.processid, "reconciled t1")
        await executor.close_successful(p.processid, [])
    report = await cli_.json("blueprint", "doctor")
    assert {f["level"] for f in report["t1"]} == {"OK"}
    logs = await cli_.json("blueprint", "log", "--name", "t1")
    assert [entry["message"] for entry in logs] == ["reconciled t1"]


# --- settings and conventions -----------------------------------------------------------------
async def test_config_says_where_each_setting_came_from(cli_: Cli, colony):
    rows = {r["setting"]: r for r in await cli_.json("--colony", "other", "config")}
    assert rows["colony"] == {"setting": "colony", "value": "other", "source": "--colony"}
    assert rows["server port"]["source"] == "COLONIES_SERVER_PORT"
    assert rows["TLS"] == {"setting": "TLS", "value": "off", "source": "default"}
    assert rows["your key"]["value"] == f"set (ID {colony.user.id})"
    text = await cli_.ok("config")
    for secret in (colony.user.text, colony.owner.text):
        assert secret not in text
    assert text.splitlines()[0].split() == ["SETTING", "VALUE", "FROM"]
    # The other transports' settings (docs/protocol.md §12.6), from an option or a variable.
    rows = {r["setting"]: r for r in await cli_.json(
        "--backend", "grpc,http", "config", COLONIES_CLIENT_GRPC_PORT="6001"
    )}  # fmt: skip
    assert rows["transports, in order"]["value"] == "grpc, http"
    assert rows["transports, in order"]["source"] == "--backend"
    assert rows["gRPC port"] == {
        "setting": "gRPC port", "value": "6001", "source": "COLONIES_CLIENT_GRPC_PORT"
    }  # fmt: skip
    assert rows["gRPC host"] == {
        "setting": "gRPC host", "value": "127.0.0.1", "source": "COLONIES_SERVER_HOST"
    }  # fmt: skip
    assert rows["CoAP port"] == {"setting": "CoAP port", "value": "5683", "source": "default"}
    bad = await cli_.error("config", COLONIES_CLIENT_BACKENDS="smtp")
    assert bad.strip() == (
        "error: COLONIES_CLIENT_BACKENDS: unknown backend 'smtp' (known: http, grpc, coap, "
        "libp2p, gin, p2p)"
    )


async def test_json_yaml_and_the_root_json_flag(cli_: Cli, server, colony):
    api = await server.rpc.call("getcolonymsg", colony.user, colonyname=colony.name)
    assert json.loads(await cli_.ok("colony", "get", "--json")) == api
    assert json.loads(await cli_.ok("--json", "colony", "get")) == api
    assert yaml.safe_load(await cli_.ok("colony", "get", "-o", "yaml")) == api
    assert (await cli_.ok("--json", "colony", "get", "-o", "table")).startswith("NAME")


async def test_usage_errors_exit_1(cli_: Cli):
    result = await cli_.run("process", "psw", "--bogus")
    assert result.exit_code == 1 and "No such option" in result.stderr
    result = await cli_.run("--insecure", "--tls", "colony", "get")
    assert result.exit_code == 1 and "--insecure (plain HTTP) contradicts --tls" in result.stderr


async def test_insecure_and_skip_tls_verify(db_url, server_key, colony_keys_tls, tmp_path):
    config, _ca, colony = colony_keys_tls
    env = {"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(config.port),
           "COLONIES_TLS": "true", "COLONIES_CA_FILE": None, "COLONIES_PRVKEY": colony.user.text,
           "COLONIES_COLONY_NAME": colony.name}  # fmt: skip

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    untrusted = await asyncio.to_thread(run, "colony", "get")
    assert untrusted.exit_code == 1 and "TLS" in untrusted.stderr
    skipped = await asyncio.to_thread(run, "--skip-tls-verify", "colony", "get", "-o", "json")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["name"] == colony.name
    plain = await asyncio.to_thread(run, "--insecure", "colony", "get")
    assert plain.exit_code == 1  # plain HTTP to a TLS port: refused, one line
    assert plain.stderr.startswith("error: ")


@pytest.fixture
async def colony_keys_tls(db_url, server_key, tmp_path):
    from tests.helpers import make_colony

    ca, cert, key = await asyncio.to_thread(make_ca_and_certificate, tmp_path)
    config = make_config(db_url, server_key, tls_cert=str(cert), tls_key=str(key))
    runner, _ = await start_server(config)
    try:
        from colonies.client import AsyncRpc

        async with AsyncRpc(f"https://127.0.0.1:{config.port}", ca_file=str(ca)) as rpc:
            colony = await make_colony(rpc, server_key)
        yield config, ca, colony
    finally:
        await runner.cleanup()
