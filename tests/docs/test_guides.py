"""Every guide of the docs site, run as written against one `colonies dev`: each ```sh block in
order in one bash, each ```text block after one compared with what it printed (tests/docs/
guide.py). A guide that stops working fails here, so the guides cannot rot."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.docs.conftest import guide_env
from tests.docs.guide import GuideRun, guide_blocks, run_guide

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: The guides, in the order a newcomer reads them (the README's tour, then the site's nav).
GUIDES = [
    ROOT / "README.md",
    DOCS / "getting-started.md",
    DOCS / "guides" / "executors.md",
    DOCS / "guides" / "workflows.md",
    DOCS / "guides" / "crons.md",
    DOCS / "guides" / "generators.md",
    DOCS / "guides" / "blueprints.md",
    DOCS / "guides" / "channels.md",
    DOCS / "guides" / "logs.md",
    DOCS / "colonyfs.md",
    DOCS / "metrics.md",
    DOCS / "security.md",
]
#: Pages with ```sh blocks that cannot run against a local dev colony, and why.
NOT_RUN = {
    DOCS / "deploy.md": "needs a Kubernetes cluster (tests/deploy renders the chart instead)",
    DOCS / "operations.md": "needs a standby and a restored backup (integration/"
    "test_postgres_failover.py and tests/component/test_ledger.py run those steps)",
}


def _colonyfs(run: GuideRun, workdir: Path) -> None:
    # The process counted the snapshot's words (4 + 5); its report came back through S3.
    reports = list((workdir / "results").glob("*/count.json"))
    assert len(reports) == 1 and json.loads(reports[0].read_text()) == {"words": 9}
    assert re.search(r'^\{"words": 9\}$', run.stdout, flags=re.M), run.stdout
    # The executor removed the snapshot and its local copies after the run.
    assert not any((workdir / "cfs").rglob("*.txt"))


#: Checks beyond the guide's own ```text blocks: files a guide leaves behind.
EXTRA: dict[str, Callable[[GuideRun, Path], None]] = {"colonyfs.md": _colonyfs}


def test_every_page_with_commands_is_run_or_says_why() -> None:
    pages = [ROOT / "README.md", *DOCS.rglob("*.md")]
    with_commands = {p for p in pages if guide_blocks(p.read_text())}
    assert with_commands == set(GUIDES) | set(NOT_RUN), (
        "a page with ```sh blocks must be in GUIDES (run here) or NOT_RUN (with the reason)"
    )


def test_the_guides_promise_what_they_teach() -> None:
    """The steps the issue asked for are in the guides (a guide cut short fails here)."""
    steps = {
        "README.md": ["colonies function submit", "colonies process get"],
        "getting-started.md": ["colonies function submit", "colonies process get", "--version"],
        "executors.md": ["ctx.log", "kill -TERM", "colonies log get"],
        "workflows.md": ["colonies workflow submit", "colonies workflow get", "dependencies"],
        "crons.md": ["colonies cron add", "colonies cron run", "--interval"],
        "generators.md": ["colonies generator add", "colonies generator pack"],
        "blueprints.md": ["colonies blueprint add", "colonies blueprint doctor"],
        "channels.md": ["channel_append", "subscribe_channel"],
        "logs.md": ["colonies log get", "--follow", "colonies log search"],
        "colonyfs.md": ["colonies fs sync", "colonies fs snapshot create", "--snapshot --wait"],
        "metrics.md": ["/metrics", "colonies_(leader"],
        "security.md": ["user chid --new-key", "colonies ledger verify", "colonies ledger show"],
    }
    for guide in GUIDES:
        blocks = "\n".join(b.body for b in guide_blocks(guide.read_text()))
        for step in steps[guide.name]:
            assert step in blocks, (guide.name, step)


@pytest.mark.slow  # one `colonies dev` for all of them: make test, not make check's workers
@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_runs_as_written(guide: Path, guide_dir: Path) -> None:
    run = run_guide(guide, guide_dir, guide_env(), timeout=240)
    assert run.returncode == 0, run.report()
    problems = run.mismatches(guide)
    assert not problems, "\n".join(problems)
    if guide.name in EXTRA:
        EXTRA[guide.name](run, guide_dir)
