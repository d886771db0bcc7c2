"""ColonyFS rules without I/O: labels, sync plans, mount and snapshot paths."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from colonies.config import ConfigError, S3Config
from colonies.core.syncplan import (
    CFS_FILE,
    PlannedFile,
    child_label,
    in_subtree,
    mount_relative,
    normalize_label,
    plan_directory,
    snapshot_relative_dir,
    substitute_processid,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("data", "/data"), ("/data", "/data"), ("/data/", "/data"), ("a/b/", "/a/b"), ("", "/"),
     ("/", "/")],
)  # fmt: skip
def test_labels_are_normalised_to_one_leading_slash(given: str, expected: str) -> None:
    assert normalize_label(given) == expected


def test_child_labels_and_subtrees() -> None:
    assert child_label("/data", "a/b") == "/data/a/b"
    assert child_label("/data", "") == "/data"
    assert child_label("/", "a") == "/a"
    assert in_subtree("/data", "/data") and in_subtree("/data/x", "/data")
    assert not in_subtree("/data2", "/data")
    assert in_subtree("/anything", "/")


def _remote(name: str, checksum: str, size: int = 1) -> PlannedFile:
    return PlannedFile(name, checksum, size, object="obj-" + name)


def test_plan_uploads_local_only_downloads_remote_only_and_leaves_equal_files() -> None:
    local = {"same.txt": ("c1", 1), "new.txt": ("c2", 2)}
    remote = [_remote("same.txt", "c1"), _remote("theirs.txt", "c3", 3)]
    plan = plan_directory("/d", "/l", local, remote, keeplocal=True)
    assert [f.name for f in plan.upload] == ["new.txt"]
    assert plan.upload[0] == PlannedFile("new.txt", "c2", 2)
    assert plan.download == [_remote("theirs.txt", "c3", 3)]
    assert plan.conflicts == [] and not plan.empty


def test_conflicts_follow_keeplocal() -> None:
    local = {"a.txt": ("mine", 4)}
    remote = [_remote("a.txt", "theirs", 6)]
    keep_local = plan_directory("/d", "/l", local, remote, keeplocal=True)
    assert keep_local.conflicts == [PlannedFile("a.txt", "mine", 4)]
    assert keep_local.to_upload == keep_local.conflicts and keep_local.to_download == []
    keep_remote = plan_directory("/d", "/l", local, remote, keeplocal=False)
    assert keep_remote.conflicts == [_remote("a.txt", "theirs", 6)]
    assert keep_remote.to_download == keep_remote.conflicts and keep_remote.to_upload == []


def test_the_marker_file_is_never_synced_and_nothing_is_ever_deleted() -> None:
    plan = plan_directory(
        "/d", "/l", {CFS_FILE: ("x", 1)}, [_remote(CFS_FILE, "y")], keeplocal=False
    )
    assert plan.empty
    # Every plan only adds: files absent on one side are copied, never removed on the other.
    plan = plan_directory("/d", "/l", {"only-local": ("c", 1)}, [], keeplocal=False)
    assert plan.upload and not plan.download and not plan.conflicts


def test_processid_substitution() -> None:
    assert substitute_processid("/out/{processid}/x", "p1") == "/out/p1/x"
    assert substitute_processid("/plain", "p1") == "/plain"


def test_mount_dirs_stay_inside_the_executor_directory() -> None:
    assert mount_relative("/in") == PurePosixPath("in")
    assert mount_relative("in/./x") == PurePosixPath("in/x")
    assert mount_relative("/") == PurePosixPath(".")
    with pytest.raises(ValueError, match=r"\.\."):
        mount_relative("/in/../../etc")


def test_snapshot_files_land_below_the_download_dir_by_label() -> None:
    assert snapshot_relative_dir("/data", "/data") == PurePosixPath(".")
    assert snapshot_relative_dir("/data/a/b", "/data") == PurePosixPath("a/b")
    assert snapshot_relative_dir("/data/a", "/data/") == PurePosixPath("a")
    with pytest.raises(ValueError):
        snapshot_relative_dir("/data/../../x", "/data")


def test_s3_settings_from_the_environment() -> None:
    env = {
        "AWS_S3_ENDPOINT": "s3.example:9000",
        "AWS_S3_ACCESSKEY": "ACCESS-1",
        "AWS_S3_SECRETKEY": "SECRET-1",
        "AWS_S3_BUCKET": "files",
        "AWS_S3_TLS": "true",
        "AWS_S3_SKIPVERIFY": "yes",  # only exactly "true" is true (upstream's rule)
    }
    config = S3Config.from_env(env)
    assert (config.host, config.port, config.tls, config.skip_verify) == (
        "s3.example", 9000, True, False,
    )  # fmt: skip
    assert "SECRET-1" not in repr(config) and "ACCESS-1" not in repr(config)
    assert S3Config.from_env({**env, "AWS_S3_ENDPOINT": "s3.example"}).port == 443


def test_missing_or_malformed_s3_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="AWS_S3_ENDPOINT, AWS_S3_ACCESSKEY"):
        S3Config.from_env({"AWS_S3_SECRETKEY": "x", "AWS_S3_BUCKET": "b"})
    env = {
        "AWS_S3_ENDPOINT": "http://host:9000",
        "AWS_S3_ACCESSKEY": "a",
        "AWS_S3_SECRETKEY": "s",
        "AWS_S3_BUCKET": "b",
    }
    with pytest.raises(ConfigError, match="without a scheme"):
        S3Config.from_env(env)
