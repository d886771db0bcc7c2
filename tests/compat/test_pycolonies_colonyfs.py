"""ColonyFS both ways between the real pycolonies 1.0.25 (boto3) and `colonies fs` (a
subprocess), over the real server and a real SeaweedFS (docs/protocol.md §13).

Files pycolonies uploads are downloaded by `colonies fs get`; files `colonies fs sync` uploads
are downloaded by pycolonies; and the metadata both write has the same shape.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from crypto import Crypto
from pycolonies import Colonies

from tests.compat.conftest import DEV_SERVER_PRVKEY, ServerProcess

pytestmark = pytest.mark.compat


class World:
    def __init__(self, client: Colonies, server: ServerProcess, s3_env: dict[str, str]) -> None:
        crypto = Crypto()
        owner, self.user = crypto.prvkey(), crypto.prvkey()
        self.client = client
        self.colony = "fs-compat"
        client.add_colony({"colonyid": crypto.id(owner), "name": self.colony}, DEV_SERVER_PRVKEY)
        client.add_user(
            {"colonyname": self.colony, "userid": crypto.id(self.user), "name": "u"}, owner
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")},
            "COLONIES_SERVER_HOST": server.host,
            "COLONIES_SERVER_PORT": str(server.port),
            "COLONIES_PRVKEY": self.user,
            "COLONIES_COLONY_NAME": self.colony,
            **s3_env,
        }

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "colonies.cli.main", *args],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture
def world(client: Colonies, server_process: ServerProcess, s3_env: dict[str, str]) -> World:
    # s3_env also sets the AWS_S3_* variables in this process: pycolonies reads them there.
    return World(client, server_process, s3_env)


def test_files_uploaded_by_pycolonies_are_downloaded_by_the_cli(
    world: World, tmp_path: Path
) -> None:
    source = tmp_path / "from-pycolonies.bin"
    source.write_bytes(os.urandom(300_000))
    world.client.upload_file(world.colony, world.user, filepath=str(source), label="/shared")
    world.client.upload_data(
        world.colony, world.user, filename="note.txt", data=b"bytes from pycolonies",
        label="/shared",
    )  # fmt: skip

    out = tmp_path / "cli-got"
    got = world.cli("fs", "get", "-l", "/shared", "-n", source.name, "-d", str(out))
    assert Path(got.strip()).read_bytes() == source.read_bytes()
    # The whole label, by sync: both files arrive, checksums verified on the way.
    world.cli("fs", "sync", "-l", "/shared", "-d", str(tmp_path / "synced"), "--yes")
    assert (tmp_path / "synced" / "note.txt").read_bytes() == b"bytes from pycolonies"
    assert (tmp_path / "synced" / source.name).read_bytes() == source.read_bytes()


def test_files_synced_by_the_cli_are_downloaded_by_pycolonies(world: World, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "data.bin").write_bytes(os.urandom(200_000))
    (mine / "sub" / "deep.txt").write_text("from the colonies CLI")
    world.cli("fs", "sync", "-l", "/from-cli", "-d", str(mine), "--yes")

    dst = tmp_path / "pycolonies-got"
    path = world.client.download_file(
        world.colony, world.user, dst=str(dst), label="/from-cli", filename="data.bin"
    )
    assert Path(path).read_bytes() == (mine / "data.bin").read_bytes()
    data = world.client.download_data(
        world.colony, world.user, label="/from-cli/sub", filename="deep.txt"
    )
    assert data == b"from the colonies CLI"


def _shape(value: Any) -> Any:
    """A JSON value with every leaf replaced by its type's name."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_metadata_written_by_both_has_the_same_shape(world: World, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    world.client.upload_file(world.colony, world.user, filepath=str(tmp_path / "a.txt"),
                             label="/py")  # fmt: skip
    cli_dir = tmp_path / "cli"
    cli_dir.mkdir()
    (cli_dir / "a.txt").write_text("a")
    world.cli("fs", "sync", "-l", "/cli", "-d", str(cli_dir), "--yes")

    py = world.client.get_file(world.colony, world.user, label="/py", filename="a.txt")[0]
    ours = world.client.get_file(world.colony, world.user, label="/cli", filename="a.txt")[0]
    assert _shape(ours) == _shape(py)
    for key in ("colonyname", "name", "size", "checksum", "checksumalg"):
        assert ours[key] == py[key], key
    same = ("server", "port", "tls", "accesskey", "secretkey", "region", "bucket",
            "encryptionkey", "encryptionalg")  # fmt: skip
    for key in same:
        assert ours["ref"]["s3object"][key] == py["ref"]["s3object"][key], key
    assert ours["ref"]["protocol"] == py["ref"]["protocol"] == "s3"
    assert ours["ref"]["s3object"]["object"] != py["ref"]["s3object"]["object"]
