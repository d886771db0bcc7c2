"""``GET /ui``: the web dashboard's static files (package ``colonies.ui``), served by every replica.

The page holds the key: the browser signs each request itself and talks to ``/api`` and
``/pubsub`` of its own origin, so the server only hands out files. They are read once when the
app is built and answered from memory, with headers that keep the page from running anything
but its own scripts (docs/ui.md, "Security").
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PREFIX = "/ui"

# No inline script or style, nothing from another origin, no framing, no plugins; Trusted Types
# make any HTML-from-a-string sink (innerHTML, ...) throw, so server data can only become text.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    # Revalidate every time (cheap: an ETag); a new release is picked up on the next load.
    "Cache-Control": "no-cache",
}

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# Files of the package that are not part of the page.
_SKIPPED_SUFFIXES = (".py", ".pyc")


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def _walk(folder: Traversable, prefix: str = "") -> dict[str, StaticFile]:
    found: dict[str, StaticFile] = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            if entry.name != "__pycache__":
                found.update(_walk(entry, name + "/"))
        elif not entry.name.endswith(_SKIPPED_SUFFIXES):
            body = entry.read_bytes()
            suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
            content_type = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0]
            found[name] = StaticFile(
                body,
                content_type or "application/octet-stream",
                '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            )
    return found


def load_files() -> dict[str, StaticFile]:
    """The page's files by path relative to ``/ui/`` (``index.html``, ``js/main.js``, ...)."""
    return _walk(files("colonies.ui"))


def add_ui_routes(app: web.Application) -> None:
    """``/ui`` redirects to ``/ui/`` (the page); ``/ui/<path>`` is one of the package's files."""
    static = load_files()
    index = static["index.html"]

    def respond(request: web.Request, item: StaticFile) -> web.Response:
        headers = {**SECURITY_HEADERS, "ETag": item.etag}
        if item.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = item.content_type
        return web.Response(body=item.body, headers=headers)

    async def page(request: web.Request) -> web.Response:
        return respond(request, index)

    async def asset(request: web.Request) -> web.Response:
        item = static.get(request.match_info["path"])
        if item is None:
            return web.Response(status=404, text="not found\n", headers=SECURITY_HEADERS)
        return respond(request, item)

    async def to_page(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(PREFIX + "/", headers=SECURITY_HEADERS)

    app.router.add_get(PREFIX, to_page)
    app.router.add_get(PREFIX + "/", page)
    app.router.add_get(PREFIX + "/{path:.+}", asset)
