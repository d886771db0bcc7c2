"""The web page in a real browser: Playwright (PyPI) driving Debian's chromium, never a
downloaded browser. The server is the real one of tests/conftest.py, on a loopback port."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from colonies.crypto import PrivateKey
from tests.helpers import Colony, RunningServer, make_colony

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_PRESENT = Path(CHROMIUM).exists()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where the tests save a screenshot of each page: docs/images/ui with `make ui-screenshots`,
# otherwise a folder of the test run.
SCREENSHOTS_ENV = "COLONIES_UI_SCREENSHOTS"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here drives a real browser (marker ``browser``): ``make check`` leaves them to
    ``make test``."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Browser:
    """A page of a fresh browser context, with what it sent and what it logged."""

    page: Any
    base: str
    requests: list[Any] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    websockets: list[Any] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def open(self, route: str = "") -> None:
        await self.page.goto(f"{self.base}/ui/#/{route}")

    async def sign_in(self, colony: str, key: PrivateKey, keep: str = "memory") -> None:
        await self.open("keys")
        await self.page.fill("#colony-name", colony)
        await self.page.fill("#private-key", key.text)
        await self.page.select_option("#keep", keep)
        await self.page.click("#sign-in")
        await self.page.wait_for_selector('#view[data-page="overview"]')

    async def add_key(self, key: PrivateKey) -> None:
        await self.page.goto(f"{self.base}/ui/#/keys")
        await self.page.fill("#private-key", key.text)
        await self.page.click("#add-key")
        await self.page.wait_for_selector(f'tr[data-id="{key.id}"]')


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def chromium(server: RunningServer) -> AsyncIterator[Any]:
    """One browser per test, closed before the server stops (an open /pubsub socket would
    hold the server's shutdown)."""
    if not CHROMIUM_PRESENT:
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_browser(chromium: Any, server: RunningServer) -> Browser:
    context = await chromium.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    seen = Browser(page, server.url)
    page.on("request", lambda r: seen.requests.append(r))
    page.on("response", lambda r: seen.responses.append(r))
    page.on("websocket", lambda w: seen.websockets.append(w))
    page.on("console", lambda m: seen.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.set_default_timeout(15_000)
    return seen


@pytest.fixture
async def browser(chromium: Any, server: RunningServer) -> AsyncIterator[Browser]:
    seen = await new_browser(chromium, server)
    yield seen
    assert not seen.errors, f"uncaught errors in the page: {seen.errors}"


@pytest.fixture
async def ed_colony(server: RunningServer, server_key: PrivateKey) -> Colony:
    """A colony whose keys are Ed25519 (the browser's own scheme)."""
    return await make_colony(server.rpc, server_key, "ed25519", name="web")
