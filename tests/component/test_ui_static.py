"""GET /ui: the dashboard's files, their headers, and what the files themselves may contain."""

from __future__ import annotations

import asyncio
import hashlib
import re
from importlib.resources import files
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict

from colonies.server.ui import CONTENT_SECURITY_POLICY, load_files
from tests.helpers import RunningServer

UI = Path(str(files("colonies.ui")))
OWN_SCRIPTS = sorted((UI / "js").rglob("*.js"))


async def get(
    server: RunningServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + path, allow_redirects=False, headers=headers) as r:
            return r.status, r.headers.copy(), await r.read()


async def raw_get(server: RunningServer, path: str) -> tuple[int, bytes]:
    """A request line sent as it is (an HTTP client would normalise ``..`` away)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    reply = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_ui_redirects_to_the_page_and_serves_it_with_strict_headers(
    server: RunningServer,
) -> None:
    status, headers, _ = await get(server, "/ui")
    assert status == 308 and headers["Location"] == "/ui/"
    status, headers, body = await get(server, "/ui/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY  # no unsafe-inline, no unsafe-eval
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in headers
    assert b'<script type="module" src="js/main.js"></script>' in body
    # No inline script or style in the page itself.
    assert re.findall(rb"<script(?![^>]*\bsrc=)", body) == []
    assert b"<style" not in body and b" style=" not in body


async def test_every_file_is_served_with_its_type_and_revalidated_by_etag(
    server: RunningServer,
) -> None:
    served = load_files()
    assert "js/main.js" in served and "vendor/noble-secp256k1/index.js" in served
    for path in ("js/main.js", "js/keys.js", "app.css", "vendor/noble-hashes/sha3.js"):
        status, headers, body = await get(server, f"/ui/{path}")
        assert status == 200, path
        assert body == (UI / path).read_bytes()
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        expected = "text/css" if path.endswith(".css") else "text/javascript"
        assert headers["Content-Type"].startswith(expected), path
        status, headers, body = await get(
            server, f"/ui/{path}", headers={"If-None-Match": headers["ETag"]}
        )
        assert status == 304 and body == b""


@pytest.mark.parametrize(
    "path",
    [
        "/ui/nope.js",
        "/ui/../setup.cfg",
        "/ui/%2e%2e/%2e%2e/setup.cfg",
        "/ui/js/../../server/ui.py",
        "/ui/__init__.py",
        "/ui/js//main.js",
    ],
)
async def test_unknown_paths_are_404_never_a_file_outside(server: RunningServer, path: str) -> None:
    status, body = await raw_get(server, path)
    assert status == 404, path
    assert b"import" not in body and b"[metadata]" not in body


async def test_a_missing_file_under_ui_has_the_strict_headers(server: RunningServer) -> None:
    status, headers, _ = await get(server, "/ui/js/missing.js")
    assert status == 404
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_vendored_libraries_are_unchanged_and_keep_their_licences() -> None:
    vendor = UI / "vendor"
    sums = (vendor / "SHA256SUMS").read_text().split("\n")
    listed = dict(reversed(line.split("  ", 1)) for line in sums if line)
    assert set(listed) == {
        "noble-secp256k1/index.js",
        "noble-secp256k1/LICENSE",
        "noble-hashes/sha3.js",
        "noble-hashes/_u64.js",
        "noble-hashes/utils.js",
        "noble-hashes/LICENSE",
    }
    for name, digest in listed.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    for folder in ("noble-secp256k1", "noble-hashes"):
        assert "MIT License" in (vendor / folder / "LICENSE").read_text()


@pytest.mark.parametrize("script", OWN_SCRIPTS, ids=lambda p: str(p.relative_to(UI)))
def test_scripts_build_no_html_from_strings_and_load_nothing_from_elsewhere(script: Path) -> None:
    text = script.read_text()
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ):
        assert sink not in text, f"{script.name} uses {sink}"
    # Nothing is fetched, imported or connected to but this origin's own paths.
    for call, target in re.findall(r"""\b(fetch|import|WebSocket)\(\s*["'`]([^"'`]+)""", text):
        assert target.startswith(("/", ".")), f"{script.name}: {call}({target})"
    for url in re.findall(r"""(?:https?|wss?)://[^\s"'`,)]+""", text):
        # The SVG namespace, and the explanation of where the page may run.
        allowed = ("http://www.w3.org/2000/svg", "http://localhost", "http://127.0.0.1")
        assert url.startswith(allowed), f"{script.name} names {url}"
    for target in re.findall(r"""^import[^"']*["']([^"']+)["']""", text, re.M):
        assert target.startswith("."), f"{script.name} imports {target}"
        assert (script.parent / target).resolve().is_file(), f"{script.name}: {target} missing"
