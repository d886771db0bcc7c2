"""Blueprints and channels with the real pycolonies client (protocol.md §6.16, §6.17, §6.18)."""

from __future__ import annotations

import threading
import time

import pytest
from model import Conditions, FuncSpec

pytestmark = pytest.mark.compat


def _definition() -> dict:
    return {
        "kind": "BlueprintDefinition",
        "metadata": {"name": "devices", "colonyname": "test"},
        "spec": {
            "group": "home", "version": "v1", "scope": "Namespaced",
            "names": {"kind": "Device", "listKind": "DeviceList", "singular": "device",
                      "plural": "devices"},
            "schema": {"type": "object", "properties": {"power": {"type": "string",
                                                                  "enum": ["on", "off"]}}},
            "handler": {"executorType": "home-reconciler", "functionName": "reconcile"},
        },
    }  # fmt: skip


def test_blueprint_definition_and_instance_crud(world):
    client, colony_key, key, _ = world
    added = client.add_blueprint_definition(_definition(), colony_key)
    assert added["metadata"]["name"] == "devices"
    assert (
        client.get_blueprint_definition("test", "devices", key)["spec"]["names"]["kind"] == "Device"
    )
    assert [d["metadata"]["name"] for d in client.get_blueprint_definitions("test", key)] == [
        "devices"
    ]
    lamp = {"kind": "Device", "metadata": {"name": "lamp", "colonyname": "test"},
            "spec": {"power": "on"}}  # fmt: skip
    client.add_blueprint(lamp, key)
    client.add_blueprint({**lamp, "metadata": {"name": "fan", "colonyname": "test"}}, key)
    with pytest.raises(Exception, match="validation failed"):
        client.add_blueprint({**lamp, "spec": {"power": "maybe"}}, key)
    got = client.get_blueprint("test", "lamp", key)
    assert got["spec"] == {"power": "on"} and got["metadata"]["generation"] == 1
    devices = client.get_blueprints("test", key, kind="Device")
    assert sorted(b["metadata"]["name"] for b in devices) == ["fan", "lamp"]
    assert client.get_blueprints("test", key, kind="Other") == []
    got["spec"] = {"power": "off"}
    assert client.update_blueprint(got, key)["metadata"]["generation"] == 2
    client.update_blueprint_status("test", "lamp", {"power": "off", "ready": True}, key)
    assert client.get_blueprint("test", "lamp", key)["status"] == {"power": "off", "ready": True}
    process = client.reconcile_blueprint("test", "lamp", key, force=True)
    assert process["spec"]["kwargs"]["blueprintName"] == "lamp"
    history = client.get_blueprint_history(got["blueprintid"], key)
    assert [h["changetype"] for h in history][-1] == "create"
    client.remove_blueprint("test", "lamp", key)
    client.remove_blueprint("test", "fan", key)
    client.remove_blueprint_definition("test", "devices", colony_key)
    assert client.get_blueprint_definitions("test", key) == []


def test_channels_append_read_end_and_subscribe(world):
    client, _, key, _ = world
    spec = FuncSpec(
        funcname="chat", channels=["chat"], maxexectime=-1, maxretries=-1, maxwaittime=-1,
        conditions=Conditions(colonyname="test", executortype="cli"),
    )  # fmt: skip
    process = client.submit_func_spec(spec, key)
    client.assign("test", 5, key)
    received: list = []
    errors: list = []

    def subscriber() -> None:
        try:
            received.extend(client.subscribe_channel(process.processid, "chat", key, timeout=3))
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=subscriber)
    thread.start()
    time.sleep(0.5)
    client.channel_append(process.processid, "chat", 1, "hello", key)
    client.channel_append(process.processid, "chat", 2, b"world", key, in_reply_to=1)
    client.channel_append(process.processid, "chat", 3, "", key, payload_type="end")
    entries = client.channel_read(process.processid, "chat", 0, 0, key)
    assert [e["payload"] for e in entries[:2]] == [b"hello", b"world"]
    assert entries[2]["type"] == "end" and entries[1]["inreplyto"] == 1
    assert [e["sequence"] for e in client.channel_read(process.processid, "chat", 1, 1, key)] == [2]
    thread.join(10)
    assert not errors, errors
    assert [e["payload"] for e in received[:2]] == [b"hello", b"world"]
