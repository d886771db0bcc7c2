"""Run a Markdown guide's shell blocks, in order, in one bash: the guide is the test.

Only fenced blocks whose info string is exactly ``sh`` run; ``console``, ``python`` and the
rest are for reading. The blocks share one shell (variables, the working directory and
background jobs carry over), run with ``set -euo pipefail``, and every background job the guide
left running is killed when the script ends, however it ends.

A ```` ```text ```` block right after a ```` ```sh ```` block (nothing but blank lines between) is
that block's expected standard output, compared as doctest does with ``ELLIPSIS`` and
``NORMALIZE_WHITESPACE``: ``...`` stands for any text (IDs, times), runs of spaces for any
whitespace (table columns).
"""

from __future__ import annotations

import doctest
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_MARK = "@@colonies-guide-block-end@@"
_CHECKER = doctest.OutputChecker()
_OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass
class Block:
    """One ```sh block, its line in the guide, and the output it promises (if any)."""

    body: str
    line: int
    expected: str | None = None


@dataclass
class GuideRun:
    returncode: int
    stdout: str
    stderr: str
    blocks: list[Block]
    outputs: list[str]  # the standard output of each block that ran

    def report(self) -> str:
        return (
            f"exit status {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )

    def mismatches(self, path: Path) -> list[str]:
        """Blocks whose output differs from the ```text block after them."""
        problems = []
        for block, got in zip(self.blocks, self.outputs, strict=False):
            if block.expected is None:
                continue
            if not _CHECKER.check_output(block.expected, got, _OPTIONS):
                problems.append(
                    f"{path.name}:{block.line}: the output differs from the guide\n"
                    f"--- the guide says\n{block.expected}--- the commands printed\n{got}"
                )
        return problems


def guide_blocks(markdown: str) -> list[Block]:
    """The ```sh blocks in order, each with the ```text block that follows it, if any."""
    blocks: list[Block] = []
    after_sh: int | None = None  # where the previous fence ended, if it was a ```sh block
    for match in _FENCE.finditer(markdown):
        info = match["info"].strip()
        adjacent = after_sh is not None and not markdown[after_sh : match.start()].strip()
        if info == "text" and adjacent:
            blocks[-1].expected = match["body"]
        if info == "sh":
            blocks.append(Block(match["body"], markdown.count("\n", 0, match.start()) + 1))
            after_sh = match.end()
        else:
            after_sh = None
    return blocks


def shell_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh blocks, in order."""
    return [block.body for block in guide_blocks(markdown)]


def guide_script(blocks: list[Block]) -> str:
    if not blocks:
        raise ValueError("no ```sh blocks")
    prologue = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    numbered = [
        f"# --- block {i + 1} (line {b.line})\n{b.body}printf '%s\\n' '{_MARK}'\n"
        for i, b in enumerate(blocks)
    ]
    return prologue + "\n".join(numbered)


def run_guide(path: Path, cwd: Path, env: Mapping[str, str], timeout: float = 300) -> GuideRun:
    """Run the guide's shell blocks in ``cwd``; stdout and stderr are captured."""
    blocks = guide_blocks(path.read_text())
    if not blocks:
        raise ValueError(f"{path} has no ```sh blocks")
    result = subprocess.run(
        ["bash", "-c", guide_script(blocks)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    pieces = result.stdout.split(_MARK + "\n")
    outputs = pieces[:-1] if len(pieces) > 1 else []
    stdout = "".join(pieces)
    return GuideRun(result.returncode, stdout, result.stderr, blocks, outputs)
