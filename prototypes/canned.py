"""Canned replies for the transport prototypes (the real server will run the pipeline)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

log = logging.getLogger("canned")
# Grows the getserverinfomsg reply by this many bytes (to try block-wise and size limits).
PAD = 0
# Seconds to wait before replying (a slow handler: CoAP then sends an empty ACK first).
DELAY = 0.0


def reply_envelope(payloadtype: str, payload: Any, *, error: bool = False) -> bytes:
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    return json.dumps({"payloadtype": payloadtype, "payload": encoded, "error": error}).encode()


async def canned_handler(request: bytes) -> bytes:
    """getserverinfomsg gets a server info; anything else an error envelope (status 400)."""
    await asyncio.sleep(DELAY)  # a real await on the asyncio loop, as the dispatcher's will be
    try:
        envelope = json.loads(request)
    except ValueError:
        return reply_envelope("error", {"status": 400, "message": "bad JSON"}, error=True)
    log.info("request %s (%d bytes)", envelope.get("payloadtype"), len(request))
    if envelope.get("payloadtype") == "getserverinfomsg":
        info = {
            "buildversion": "prototype",
            "buildtime": "now" + "x" * PAD,
            "backends": [{"type": "libp2p", "port": 0}],
        }
        reply = reply_envelope("getserverinfomsg", info)
    elif envelope.get("payloadtype") in ("submitfuncspecmsg", "getprocessmsg"):
        # A process as v1.9.4 reads it: WAITING when submitted, SUCCESS when asked for again.
        state = 0 if envelope["payloadtype"] == "submitfuncspecmsg" else 2
        reply = reply_envelope(envelope["payloadtype"], canned_process(state))
    else:
        reply = reply_envelope(
            "error", {"status": 400, "message": "prototype: canned replies only"}, error=True
        )
    log.info("reply %d bytes", len(reply))
    return reply


PROCESS_ID = "a" * 64


def canned_process(state: int) -> dict[str, Any]:
    return {
        "processid": PROCESS_ID,
        "state": state,
        "spec": {"funcname": "echo", "conditions": {"executortype": "echo"}},
    }


async def echo_handler(request: bytes) -> bytes:
    return request
