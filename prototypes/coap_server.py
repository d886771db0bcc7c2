"""Prototype (not packaged): an aiocoap server as upstream v1.9.4's Go CoAP client expects it.

POST /api: the body is the envelope JSON; the answer is always 2.05 Content with
content-format 50 (application/json) carrying the reply or error envelope (the Go client treats
any other code as a failure). GET /health: 2.05 "healthy". aiocoap reassembles Block1 requests
and splits large replies into Block2 blocks by itself (1024-byte blocks, as the Go client uses).

Run: python prototypes/coap_server.py --port 47683 [--pad N]
--pad N grows the canned reply by N bytes, to see Block2 at work.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import aiocoap
import aiocoap.resource as resource
import canned
from aiocoap.numbers.contentformat import ContentFormat

log = logging.getLogger("coap_server")
REQUEST_LIMIT = 10 * 1024 * 1024


class ApiResource(resource.Resource):
    async def render_post(self, request: aiocoap.Message) -> aiocoap.Message:
        log.info(
            "POST /api %d bytes (content-format %s)",
            len(request.payload),
            request.opt.content_format,
        )
        if len(request.payload) > REQUEST_LIMIT:
            return aiocoap.Message(code=aiocoap.REQUEST_ENTITY_TOO_LARGE)
        reply = await canned.canned_handler(request.payload)
        return aiocoap.Message(
            code=aiocoap.CONTENT, payload=reply, content_format=ContentFormat.JSON
        )


class HealthResource(resource.Resource):
    async def render_get(self, request: aiocoap.Message) -> aiocoap.Message:
        return aiocoap.Message(
            code=aiocoap.CONTENT, payload=b"healthy", content_format=ContentFormat.TEXT
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=47683)
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    canned.PAD = args.pad
    canned.DELAY = args.delay
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    site = resource.Site()
    site.add_resource(["api"], ApiResource())
    site.add_resource(["health"], HealthResource())
    context = await aiocoap.Context.create_server_context(site, bind=(args.host, args.port))
    print("LISTENING", f"{args.host}:{args.port}", flush=True)
    try:
        await asyncio.sleep(args.seconds)
    finally:
        await context.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
