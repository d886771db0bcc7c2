"""A screenshot of every page of the dashboard, over a colony with something in every corner.

`make ui-screenshots` writes them to docs/images/ui (shown by README.md and docs/ui.md);
otherwise they go to a folder of the test run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from colonies.crypto import PrivateKey, generate_private_key
from tests.helpers import Colony, RunningServer, function_spec
from tests.ui.conftest import Browser
from tests.ui.test_dashboard import executor_run


async def seed(server: RunningServer, c: Colony) -> dict[str, str]:
    """Processes in every state, workflows, schedules, files, a blueprint, a channel."""
    rpc = server.rpc
    ids: dict[str, str] = {}
    await rpc.call(
        "addlocationmsg",
        c.owner,
        location={
            "name": "lab",
            "colonyname": c.name,
            "description": "Building 4",
            "lat": 59.33,
            "long": 18.06,
        },
    )
    gpu = generate_private_key()
    await rpc.call(
        "addexecutormsg",
        c.owner,
        executor={
            "executorid": gpu.id,
            "executorname": "gpu-box",
            "executortype": "gpu",
            "colonyname": c.name,
            "locationname": "lab",
        },
    )

    async def submit(funcname: str, **extra: Any) -> str:
        process = await rpc.call(
            "submitfuncspecmsg", c.user, spec=function_spec(c, funcname, **extra)
        )
        return str(process["processid"])

    # Standalone processes, taken in order by the colony's executor.
    done = await submit("resize", args=["cat.png", 640])
    failed = await submit("transcode", args=["talk.mov"])
    running = await submit("train", kwargs={"epochs": 20, "lr": 0.001}, channels=["progress"])
    for expected in (done, failed, running):
        assert (await executor_run(rpc, c))["processid"] == expected
    await rpc.call(
        "addattributemsg",
        c.executor,
        attribute={"targetid": done, "key": "pixels", "value": "409600", "attributetype": 1},
    )
    await rpc.call("closesuccessfulmsg", c.executor, processid=done, out=["cat-640.png"])
    await rpc.call(
        "closefailedmsg",
        c.executor,
        processid=failed,
        errors=["ffmpeg: codec not supported: prores_ks"],
    )
    for line in (
        "loading data set (12,000 images)",
        "epoch 1/20: loss 0.912",
        "epoch 2/20: loss 0.604",
    ):
        await rpc.call("addlogmsg", c.executor, processid=running, message=line)
    for seq, text in enumerate(("start", "epoch 2 done")):
        await rpc.call(
            "channelappendmsg",
            c.executor,
            processid=running,
            name="progress",
            sequence=seq + 1,
            payload=list(text.encode()),
            payloadtype="",
        )
    await rpc.call(
        "channelappendmsg",
        c.user,
        processid=running,
        name="progress",
        sequence=1,
        payload=list(b"keep going"),
        payloadtype="",
    )
    cancelled = await submit("render", args=["scene-4"])
    await rpc.call("cancelprocessmsg", c.user, processid=cancelled)
    ids.update(running=running, failed=failed)

    # A diamond workflow halfway, and one that failed.
    def step(name: str, *deps: str) -> dict[str, Any]:
        return function_spec(c, name, nodename=name, conditions={"dependencies": list(deps)})

    diamond = await rpc.call(
        "submitworkflowspecmsg",
        c.user,
        spec={
            "colonyname": c.name,
            "functionspecs": [
                step("fetch"),
                step("clean", "fetch"),
                step("train", "clean"),
                step("validate", "clean"),
                step("report", "train", "validate"),
            ],
        },
    )
    for _ in range(3):  # fetch, clean, train
        p = await executor_run(rpc, c)
        await rpc.call("closesuccessfulmsg", c.executor, processid=p["processid"], out=[])
    assert (await executor_run(rpc, c))["spec"]["nodename"] == "validate"  # left running
    broken = await rpc.call(
        "submitworkflowspecmsg",
        c.user,
        spec={"colonyname": c.name, "functionspecs": [step("extract"), step("load", "extract")]},
    )
    p = await executor_run(rpc, c)
    await rpc.call(
        "closefailedmsg",
        c.executor,
        processid=p["processid"],
        errors=["connection refused: warehouse:5432"],
    )
    ids.update(workflow=diamond["processgraphid"], broken=broken["processgraphid"])
    # Waiting work, submitted last so that the executor above took the workflows' steps.
    for i in range(4):
        await submit("thumbnail", args=[f"photo-{i}.jpg"], priority=i)
    await submit("simulate", conditions={"executortype": "gpu"})

    workflow = json.dumps({"colonyname": c.name, "functionspecs": [step("backup")]})
    await rpc.call(
        "addcronmsg",
        c.user,
        cron={
            "colonyname": c.name,
            "name": "nightly-backup",
            "cronexpression": "0 0 3 * * *",
            "interval": -1,
            "workflowspec": workflow,
        },
    )
    await rpc.call(
        "addcronmsg",
        c.user,
        cron={
            "colonyname": c.name,
            "name": "heartbeat",
            "cronexpression": "",
            "interval": 300,
            "workflowspec": workflow,
        },
    )
    await rpc.call(
        "addgeneratormsg",
        c.user,
        generator={
            "colonyname": c.name,
            "name": "ingest",
            "workflowspec": workflow,
            "trigger": 10,
            "timeout": -1,
        },
    )

    for label, name, size in (
        ("/data/raw", "images.tar", 734003200),
        ("/data/raw", "labels.csv", 52311),
        ("/data/clean", "train.parquet", 88112640),
    ):
        await rpc.call(
            "addfilemsg",
            c.user,
            file={
                "colonyname": c.name,
                "label": label,
                "name": name,
                "size": size,
                "checksum": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "checksumalg": "SHA256",
                "ref": {
                    "protocol": "s3",
                    "s3object": {"bucket": "colonies", "object": f"{label.strip('/')}/{name}"},
                },
            },
        )
    await rpc.call(
        "createsnapshotmsg", c.user, colonyname=c.name, label="/data", name="before-cleanup"
    )

    await rpc.call(
        "addblueprintdefinitionmsg",
        c.owner,
        blueprintdefinition={
            "kind": "FileSet",
            "metadata": {"name": "filesets", "colonyname": c.name},
            "spec": {
                "group": "demo",
                "version": "v1",
                "scope": "Namespaced",
                "names": {"kind": "FileSet", "plural": "filesets", "singular": "fileset"},
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "object"}},
                    "required": ["files"],
                },
                "handler": {
                    "executorType": "cli",
                    "functionName": "reconcile",
                    "reconcileInterval": 60,
                },
            },
        },
    )
    await rpc.call(
        "addblueprintmsg",
        c.user,
        blueprint={
            "kind": "FileSet",
            "metadata": {"name": "website", "colonyname": c.name, "locationname": "lab"},
            "spec": {"files": {"index.html": "v2"}},
        },
    )
    await rpc.call(
        "updateblueprintstatusmsg",
        c.executor,
        colonyname=c.name,
        blueprintname="website",
        status={"files": {"index.html": "v1"}, "ready": False},
    )
    return ids


async def shoot(browser: Browser, folder: Path, name: str, route: str, ready: str) -> Path:
    await browser.open(route)
    await browser.page.wait_for_selector(ready)
    await browser.page.wait_for_timeout(400)  # let live updates settle
    path = folder / f"{name}.png"
    await browser.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, path
    return path


async def test_screenshot_of_every_page(
    browser: Browser,
    ed_colony: Colony,
    server: RunningServer,
    server_key: PrivateKey,
    screenshot_dir: Path,
) -> None:
    c = ed_colony
    ids = await seed(server, c)
    await shoot(browser, screenshot_dir, "sign-in", "keys", "#sign-in")
    await browser.sign_in(c.name, c.user)
    await browser.add_key(c.owner)
    await browser.add_key(server_key)
    await shoot(browser, screenshot_dir, "keys", "keys", "#add-key")
    pages = [
        ("overview", "overview", "#stats .counters"),
        ("processes", "processes?state=0", "#process-list[data-loaded] table"),
        (
            "processes-failed",
            "processes?state=3",
            "#process-list[data-loaded] .error-text:not(:empty)",
        ),
        ("process", f"process/{ids['running']}", "#log .log-line"),
        ("process-failed", f"process/{ids['failed']}", "#errors"),
        ("workflows", "workflows?state=1", "#workflow-list table"),
        ("workflow", f"workflow/{ids['workflow']}", "#dag g.node.state-running"),
        ("workflow-failed", f"workflow/{ids['broken']}", "#workflow-errors"),
        ("submit", "submit", "#spec-form"),
        ("executors", "executors", 'tr[data-executor="gpu-box"]'),
        ("schedules", "schedules", 'tr[data-cron="nightly-backup"]'),
        ("files", "files?label=%2Fdata%2Fraw&file=images.tar", "#revision-list table"),
        ("blueprints", "blueprints?name=website", "#blueprint-status"),
        ("channels", f"channels/{ids['running']}", '[data-channel="progress"] .log-line'),
        ("users", "users", 'tr[data-user="alice"]'),
        ("server", "server", "#leader"),
    ]
    taken = [await shoot(browser, screenshot_dir, *page) for page in pages]
    assert len(set(taken)) == len(pages)
