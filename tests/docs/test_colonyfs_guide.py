"""docs/colonyfs.md, run as written: `colonies dev` (the real one, with its SeaweedFS) and the
guide's shell blocks in a fresh directory."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from colonies.devenv import pgdata_dir
from tests.docs.guide import run_guide, shell_blocks
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "colonyfs.md"
VENV_BIN = Path(sys.executable).parent


def _clean_env() -> dict[str, str]:
    """This environment without COLONIES_* or AWS_S3_*: only the guide's `source` sets them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_S3_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def dev_colony(tmp_path: Path) -> Iterator[Path]:
    """`colonies dev` in ``tmp_path`` (as `make run` there), stopped with SIGINT afterwards."""
    state = tmp_path / ".colonies-dev"
    proc = subprocess.Popen(
        [str(VENV_BIN / "colonies"), "dev", "--dir", str(state), "--port", str(free_port()),
         "--s3-port", str(free_port())],
        cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
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
        else:
            raise AssertionError("colonies dev did not start:\n" + "".join(seen))
        assert "Ctrl-C stops everything" in "".join(seen), "".join(seen)
        yield tmp_path
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(pgdata_dir(state.resolve()).parent, ignore_errors=True)


def test_the_guide_has_the_steps_it_promises() -> None:
    blocks = "\n".join(shell_blocks(GUIDE.read_text()))
    for step in ("colonies fs sync", "colonies fs snapshot create", "--snapshot --wait"):
        assert step in blocks


def test_the_colonyfs_guide_runs_as_written(dev_colony: Path) -> None:
    result = run_guide(GUIDE, dev_colony, _clean_env())
    assert result.returncode == 0, result.stdout + result.stderr
    # The process counted the snapshot's words (4 + 5) and its report came back through S3.
    lines = result.stdout.splitlines()
    assert "9" in lines, result.stdout
    reports = list((dev_colony / "results").glob("*/count.json"))
    assert len(reports) == 1 and json.loads(reports[0].read_text()) == {"words": 9}
    assert re.search(r'^\{"words": 9\}$', result.stdout, flags=re.M), result.stdout
    # The executor removed the snapshot and its local copies after the run.
    assert not any((dev_colony / "cfs").rglob("*.txt"))
