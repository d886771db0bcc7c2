"""Point citations of documents outside the repository at the repository's own documents.

    python scripts/rewrite_citations.py          # rewrite in place, list what changed
    python scripts/rewrite_citations.py --check  # list what would change; exit 1 if anything

The code was written against a specification and a design note that are not in the
repository. Their replacements keep the section numbers where they matter:

- ``PROTOCOL.md §7.5``  → ``docs/protocol.md §7.5`` (same numbering); in a Python line that
  would grow past 100 characters, the short form ``protocol.md §7.5`` (same length as before);
- ``DESIGN.md invariant 6`` → ``docs/architecture.md §9, invariant 6``;
- ``DESIGN.md`` next to the word "fencing" (same or previous line) →
  ``docs/architecture.md §5.3``; any other ``DESIGN.md`` → ``docs/architecture.md §5``
  (each of these is listed, to be checked by eye);
- ``../shared`` cannot be rewritten mechanically: it is listed and makes ``--check`` fail.

Running it twice changes nothing the second time. ``tests/unit/test_docs_citations.py``
checks the result (every cited section exists; nothing cites the old names).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINE = 100  # ruff's line length for Python files

# What is scanned: the repository's own text, not its virtualenv or caches.
SCANNED = (
    "src",
    "tests",
    "docs",
    "bench",
    "integration",
    "cluster",
    "helm",
    "scripts",
    "grafana",
    "prometheus",
    ".ci",
    "README.md",
    "Makefile",
    "Dockerfile",
    "setup.cfg",
    "pyproject.toml",
)
# vendor/: third-party files, whose § signs cite their own specifications.
SKIPPED_DIRS = {
    ".venv",
    "__pycache__",
    ".git",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "vendor",
}
SKIPPED_SUFFIXES = {".pyc", ".png", ".jpg", ".gz", ".tgz", ".whl", ".so"}
# Files that must name the old documents to do their job.
EXEMPT = {"scripts/rewrite_citations.py", "tests/unit/test_docs_citations.py"}

_PROTOCOL = re.compile(r"(?<![\w/.-])PROTOCOL\.md")
_INVARIANT = re.compile(r"(?<![\w/.-])DESIGN\.md,? invariant (\d+)")
_DESIGN = re.compile(r"(?<![\w/.-])DESIGN\.md")
_SHARED = re.compile(r"\.\./shared\b|/work/shared\b")
_FENCING = re.compile(r"fenc", re.IGNORECASE)


def iter_files(root: Path = ROOT) -> Iterator[Path]:
    """Every text file the citation checks cover, in a stable order."""
    for name in SCANNED:
        top = root / name
        if top.is_file():
            yield top
        elif top.is_dir():
            for path in sorted(top.rglob("*")):
                if path.is_file() and not _skipped(path.relative_to(root)):
                    yield path


def _skipped(relative: Path) -> bool:
    return bool(SKIPPED_DIRS.intersection(relative.parts)) or relative.suffix in SKIPPED_SUFFIXES


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # not text


def relative(path: Path, root: Path = ROOT) -> str:
    return path.relative_to(root).as_posix()


def _wrap(line: str, limit: int) -> str:
    """Break a comment or docstring line that grew too long at its last space that fits."""
    body = line.rstrip("\n")
    newline = line[len(body) :]
    indent = body[: len(body) - len(body.lstrip())]
    prefix = indent + ("# " if body.lstrip().startswith("#") else "")
    cut = body.rfind(" ", len(prefix) + 1, limit + 1)
    while cut > 0 and body[cut + 1 : cut + 2] == "§":  # keep "name.md §N" together
        cut = body.rfind(" ", len(prefix) + 1, cut)
    if cut <= len(prefix):
        return line  # nothing sensible to break at: leave it for a human
    return body[:cut] + "\n" + prefix + body[cut + 1 :] + newline


def rewrite_line(line: str, previous: str, python: bool) -> tuple[str, list[str]]:
    """The rewritten line and notes on the DESIGN.md rewrites it made."""
    notes: list[str] = []
    new = _INVARIANT.sub(r"docs/architecture.md §9, invariant \1", line)
    if _DESIGN.search(new):
        fencing = bool(_FENCING.search(line) or _FENCING.search(previous))
        target = "docs/architecture.md §5.3" if fencing else "docs/architecture.md §5"
        new = _DESIGN.sub(target, new)
        notes.append(f"DESIGN.md → {target}")
    elif new != line:
        notes.append("DESIGN.md invariant → docs/architecture.md §9")
    if _PROTOCOL.search(new):
        full = _PROTOCOL.sub("docs/protocol.md", new)
        fits = not python or len(full.rstrip("\n")) <= MAX_LINE
        new = full if fits else _PROTOCOL.sub("protocol.md", new)
    if python and new != line and len(new.rstrip("\n")) > MAX_LINE:
        new = _wrap(new, MAX_LINE)
    return new, notes


def rewrite_text(text: str, python: bool) -> tuple[str, list[tuple[int, str]]]:
    """The rewritten text and (line number, note) for each DESIGN.md rewrite."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    notes: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        previous = lines[number - 2] if number > 1 else ""
        new, line_notes = rewrite_line(line, previous, python)
        out.append(new)
        notes.extend((number, note) for note in line_notes)
    return "".join(out), notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    args = parser.parse_args(argv)
    changed = 0
    unresolved = 0
    for path in iter_files():
        name = relative(path)
        if name in EXEMPT:
            continue
        text = read_text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if _SHARED.search(line):
                print(f"{name}:{number}: cites ../shared: rewrite by hand")
                unresolved += 1
        new, notes = rewrite_text(text, python=path.suffix == ".py")
        for number, note in notes:
            print(f"{name}:{number}: {note} (check the section)")
        if new != text:
            changed += 1
            print(f"{name}: {'would be rewritten' if args.check else 'rewritten'}")
            if not args.check:
                path.write_text(new, encoding="utf-8")
    done = "to rewrite" if args.check else "rewritten"
    print(f"{changed} file(s) {done}, {unresolved} to fix by hand")
    return 1 if unresolved or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
