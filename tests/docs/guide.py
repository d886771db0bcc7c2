"""Run a Markdown guide's shell blocks, in order, in one bash: the guide is the test.

Only fenced blocks whose info string is exactly ``sh`` run; ``console``, ``text``, ``python``
and the rest are for reading. The blocks share one shell (variables, the working directory and
background jobs carry over), run with ``set -euo pipefail``, and every background job the guide
left running is killed when the script ends, however it ends.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)


def shell_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh blocks, in order."""
    return [m["body"] for m in _FENCE.finditer(markdown) if m["info"].strip() == "sh"]


def guide_script(path: Path) -> str:
    blocks = shell_blocks(path.read_text())
    if not blocks:
        raise ValueError(f"{path} has no ```sh blocks")
    prologue = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    numbered = [f"# --- block {i + 1}\n{body}" for i, body in enumerate(blocks)]
    return prologue + "\n".join(numbered)


def run_guide(
    path: Path, cwd: Path, env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the guide's shell blocks in ``cwd``; stdout and stderr are captured."""
    return subprocess.run(
        ["bash", "-c", guide_script(path)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
