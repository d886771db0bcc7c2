"""A fresh clone, `make run`, and the commands it prints: they must work as printed (the
function round trip and a ColonyFS sync to the embedded SeaweedFS).

The clone reuses this checkout's virtualenv (VENV=...) so the test does not reinstall the world;
everything else — the Makefile target, `colonies dev`, the embedded PostgreSQL, the printed
commands run by a shell — is the real thing. Ctrl-C (SIGINT) must stop it all.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from colonies.devenv import pgdata_dir
from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)  # the virtualenv running the tests


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"did not see {marker!r}; output so far:\n{''.join(seen)}")


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout to clone")
def test_fresh_clone_make_run_and_the_printed_commands(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port, s3_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in [n for n in env if n.startswith(("AWS_S3_", "COLONIES_"))]:
        del env[name]  # only what the printed `source` line sets
    # `make run`, with the port moved off 50080 so a developer's own colony is not disturbed;
    # -o: the shared virtualenv counts as installed, never re-pointed at the clone.
    proc = subprocess.Popen(
        ["make", "run", f"VENV={VENV}", "-o", f"{VENV}/.installed-dev",
         f"DEV_ARGS=--port {port} --s3-port {s3_port}"],
        cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        banner = _read_until(proc, "Ctrl-C stops everything", timeout=120)
        commands = re.findall(r"^  (source .+|colonies .+)$", banner, flags=re.M)
        assert len(commands) == 5, banner
        assert any(c.startswith("colonies fs sync ") for c in commands), banner
        # No PATH of ours: the sourced dev.env must put the colonies command on it.
        path = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if Path(p) != VENV / "bin")
        script = "\n".join(["set -e", f"export PATH={path}", *commands])
        result = subprocess.run(
            ["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True,
            timeout=90,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines()[0] == "hello", result.stdout
        assert "SUCCESS" in result.stdout and "echo" in result.stdout
        assert "synced " in result.stdout and "1 files moved" in result.stdout, result.stdout
        assert re.search(r"^hello\.txt\s+21 B\s", result.stdout, flags=re.M), result.stdout
    finally:
        before = _descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError):  # it may have failed on its own
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        shutil.rmtree(pgdata_dir((clone / ".colonies-dev").resolve()).parent, ignore_errors=True)
    time.sleep(0.5)
    alive = [p for p in before if Path(f"/proc/{p}").exists()]
    zombies = [p for p in alive if "Z" in Path(f"/proc/{p}/stat").read_text().split()[2]]
    assert sorted(alive) == sorted(zombies), f"processes left behind: {alive}"
