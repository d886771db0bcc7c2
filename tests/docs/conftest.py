"""One `colonies dev` (the real one: embedded PostgreSQL, SeaweedFS, the server, the dev-echo
executor) for every guide of the session; each guide runs in a directory of its own that sees
the colony's `.colonies-dev` as `make run` leaves it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from colonies.devenv import pgdata_dir
from tests.support import free_port

VENV_BIN = Path(sys.executable).parent


def guide_env() -> dict[str, str]:
    """This environment without COLONIES_*, AWS_S3_* and without the virtualenv on PATH:
    only the guide's `source .colonies-dev/dev.env` sets them (as for a newcomer)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_S3_"))}
    path = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in path if p and Path(p) != VENV_BIN)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def dev_colony(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`colonies dev` for the whole session; its state directory (`.colonies-dev`)."""
    home = tmp_path_factory.mktemp("dev")
    state = home / ".colonies-dev"
    env = guide_env()
    proc = subprocess.Popen(
        [str(VENV_BIN / "colonies"), "dev", "--dir", str(state), "--port", str(free_port()),
         "--s3-port", str(free_port())],
        cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                break
        assert "Ctrl-C stops everything" in "".join(seen), "".join(seen)
        yield state
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(pgdata_dir(state.resolve()).parent, ignore_errors=True)


@pytest.fixture
def guide_dir(dev_colony: Path, tmp_path: Path) -> Path:
    """A fresh directory whose `.colonies-dev` is the session's colony."""
    (tmp_path / ".colonies-dev").symlink_to(dev_colony)
    return tmp_path
