"""Every citation of a document section points at a section that exists in the repository.

A citation names a file and a section: ``docs/protocol.md §7.5``, ``architecture.md §5.3``;
ranges (``§7.1-§7.8``, ``§6.1-6.5``, ``§7.1 to §7.4``); lists (``§6.16, §6.17``; a bare number
only after a dash); items (``§8.1 item 13``: a numbered table row or list entry). A bare
``§7.5`` cites the file it continues, else: inside ``docs/<name>.md`` that document itself,
anywhere else ``docs/protocol.md`` (the project's convention in code and tests). Sections are
the numbered headings (``## 7 Semantics``, ``### 7.5 Assign``).

Nothing may cite the documents the project was specified in (they are not in the repository);
``scripts/rewrite_citations.py`` rewrites such citations.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

_NUMBER = r"\d+(?:\.\d+)*"
# An optional document name, then one section or a range, list or item of sections.
_CITATION = re.compile(
    rf"(?:(?P<doc>(?:docs/)?[\w-]+\.md)\s+)?"
    rf"§(?P<first>{_NUMBER})"
    rf"(?P<more>(?:\s*[-\u2013]\s*§?{_NUMBER}(?![\w/])|\s*(?:,|to|and|&)\s*§{_NUMBER})*)"
    rf"(?:,?\s+items?\s+(?P<items>\d+(?:\s*(?:,|and)\s*\d+)*))?"
)
_HEADING = re.compile(rf"^#{{1,6}}\s+({_NUMBER})\s", re.MULTILINE)
# An item: a table row numbered in its first cell, or an entry of a numbered list.
_ITEM = re.compile(r"^(?:\|\s*(\d+)\s*\||(\d+)\.\s)", re.MULTILINE)
_FORBIDDEN = re.compile(r"(?<![\w/.-])(?:PROTOCOL\.md|DESIGN\.md)|\.\./shared\b|/work/shared\b")


def _load_script(name: str) -> ModuleType:
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_scripts_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rewrite = _load_script("rewrite_citations")


@cache
def _files() -> list[tuple[str, str]]:
    """(repository path, text) of every scanned text file but the two that must name the old
    documents."""
    found = []
    for path in rewrite.iter_files(ROOT):
        name = rewrite.relative(path, ROOT)
        if name in rewrite.EXEMPT:
            continue
        text = rewrite.read_text(path)
        if text is not None:
            found.append((name, text))
    return found


def _resolve(doc: str) -> Path | None:
    """``docs/protocol.md`` or ``protocol.md`` → the file in the repository, if any."""
    for candidate in (ROOT / doc, ROOT / "docs" / doc):
        if candidate.is_file():
            return candidate
    return None


@cache
def _sections(path: Path) -> frozenset[str]:
    return frozenset(_HEADING.findall(path.read_text(encoding="utf-8")))


def _section_text(path: Path, number: str) -> str:
    """The text of section ``number`` with its subsections (up to the next sibling or parent)."""
    text = path.read_text(encoding="utf-8")
    starts = [(m.start(), m.group(1)) for m in _HEADING.finditer(text)]
    for i, (start, found) in enumerate(starts):
        if found == number:
            for later_start, later in starts[i + 1 :]:
                if not later.startswith(number + "."):
                    return text[start:later_start]
            return text[start:]
    return ""


def _default_doc(source: str) -> str:
    if source.startswith("docs/") and source.endswith(".md"):
        return source
    return "docs/protocol.md"


def citations(source: str, text: str) -> list[tuple[int, str, list[str], list[int]]]:
    """(line, document, sections, items) of every citation in ``text``."""
    found = []
    for match in _CITATION.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        doc = match.group("doc") or _default_doc(source)
        numbers = [match.group("first"), *re.findall(_NUMBER, match.group("more") or "")]
        items = [int(n) for n in re.findall(r"\d+", match.group("items") or "")]
        found.append((line, doc, numbers, items))
    return found


def broken_citations(files: list[tuple[str, str]]) -> list[str]:
    problems = []
    for source, text in files:
        for line, doc, numbers, items in citations(source, text):
            where = f"{source}:{line}"
            target = _resolve(doc)
            if target is None:
                problems.append(f"{where}: cites {doc}, which is not in the repository")
                continue
            sections = _sections(target)
            for number in numbers:
                if number not in sections:
                    problems.append(f"{where}: {doc} has no section §{number}")
            for item in items:
                section = _section_text(target, numbers[-1])
                rows = {int(row or entry) for row, entry in _ITEM.findall(section)}
                if item not in rows:
                    problems.append(f"{where}: {doc} §{numbers[-1]} has no item {item}")
    return problems


def test_every_cited_section_exists() -> None:
    problems = broken_citations(_files())
    assert not problems, "citations of sections that do not exist:\n" + "\n".join(problems)


def test_nothing_cites_documents_outside_the_repository() -> None:
    problems = [
        f"{source}:{number}: {line.strip()}"
        for source, text in _files()
        for number, line in enumerate(text.splitlines(), start=1)
        if _FORBIDDEN.search(line)
    ]
    assert not problems, (
        "citations of documents that are not in the repository "
        "(run python scripts/rewrite_citations.py):\n" + "\n".join(problems)
    )


def test_the_check_finds_what_it_looks_for() -> None:
    """The checker itself, on made-up text: it must be able to fail."""
    assert broken_citations([("src/x.py", "see docs/protocol.md §7.5 and §8.1 item 13")]) == []
    assert broken_citations([("src/x.py", "(§6.1-6.5, §7.1 to §7.4, §2.2-2.4)")]) == []
    assert broken_citations([("src/x.py", "(§4.2, 99 payload types)")]) == []
    assert broken_citations([("docs/architecture.md", "fenced (§5.3)")]) == []
    assert broken_citations([("src/x.py", "docs/protocol.md §99.1")]) == [
        "src/x.py:1: docs/protocol.md has no section §99.1"
    ]
    assert broken_citations([("src/x.py", "line one\n(§7.5-§7.77)")]) == [
        "src/x.py:2: docs/protocol.md has no section §7.77"
    ]
    assert broken_citations([("src/x.py", "§7.1 item 8")]) == []  # a numbered list entry
    assert broken_citations([("src/x.py", "§8.1 item 15")]) == [
        "src/x.py:1: docs/protocol.md §8.1 has no item 15"
    ]
    assert broken_citations([("docs/architecture.md", "§7.5")]) == [
        "docs/architecture.md:1: docs/architecture.md has no section §7.5"
    ]
    assert broken_citations([("src/x.py", "PROTOCOL.md §7.5")]) == [
        "src/x.py:1: cites PROTOCOL.md, which is not in the repository"
    ]
    assert _FORBIDDEN.search("(fencing, DESIGN.md)")
    assert _FORBIDDEN.search("see ../shared/PROTOCOL.md")
    assert not _FORBIDDEN.search("docs/protocol.md §3")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("# the rule (PROTOCOL.md §7.5).\n", "# the rule (docs/protocol.md §7.5).\n"),
        ("-- refuses to act (DESIGN.md).\n", "-- refuses to act (docs/architecture.md §5).\n"),
        ("# (fencing, DESIGN.md)\n", "# (fencing, docs/architecture.md §5.3)\n"),
        ('"""(DESIGN.md invariant 6)."""\n', '"""(docs/architecture.md §9, invariant 6)."""\n'),
        ("already docs/protocol.md §7.5\n", "already docs/protocol.md §7.5\n"),
    ],
)
def test_rewrite_rules(before: str, after: str) -> None:
    assert rewrite.rewrite_text(before, python=True)[0] == after


def test_rewrite_keeps_python_lines_short() -> None:
    long_protocol = "# " + "x" * 78 + " (PROTOCOL.md §7.5)\n"  # 99 characters
    assert rewrite.rewrite_text(long_protocol, python=True)[0] == long_protocol.replace(
        "PROTOCOL.md", "protocol.md"
    )
    long_design = "    # " + "y" * 80 + " (fencing, DESIGN.md).\n"
    new = rewrite.rewrite_text(long_design, python=True)[0]
    assert all(len(line) <= rewrite.MAX_LINE for line in new.splitlines())
    assert new.splitlines()[1].startswith("    # ")
    assert "docs/architecture.md §5.3" in new.replace("\n    # ", " ")
