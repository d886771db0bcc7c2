"""Prototype (not packaged): a py-libp2p client for `/colonies/rpc/1.0.0`, as the SDK and the
tests will need one. Sends one unsigned `getserverinfomsg` envelope the way the Go client does
(write, no half-close, read to EOF) and prints the reply.

Unlike v1.9.4's Go client in its multiaddr mode, it waits for its connection before the first
request.

Run: python prototypes/libp2p_client.py /ip4/127.0.0.1/tcp/47600/p2p/12D3KooW...
"""

from __future__ import annotations

import base64
import json
import sys
import time

import multiaddr
import trio
from libp2p import new_host
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p_host import key_pair_from_identity

RPC_PROTOCOL = TProtocol("/colonies/rpc/1.0.0")


def server_info_request() -> bytes:
    payload = base64.b64encode(json.dumps({"msgtype": "getserverinfomsg"}).encode()).decode()
    return json.dumps(
        {"signature": "", "payloadtype": "getserverinfomsg", "payload": payload}
    ).encode()


async def read_to_eof(stream) -> bytes:  # type: ignore[no-untyped-def]
    chunks = []
    while True:
        try:
            chunk = await stream.read(65536)
        except StreamEOF:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def main(address: str) -> None:
    key_pair = key_pair_from_identity(None)
    host = new_host(
        key_pair=key_pair,
        sec_opt={
            NOISE_PROTOCOL_ID: NoiseTransport(
                key_pair, noise_privkey=new_x25519_key_pair().private_key
            )
        },
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
    )
    peer = info_from_p2p_addr(multiaddr.Multiaddr(address))
    async with host.run([multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
        started = time.monotonic()
        with trio.fail_after(60):
            await host.connect(peer)
            connected = time.monotonic()
            stream = await host.new_stream(peer.peer_id, [RPC_PROTOCOL])
            await stream.write(server_info_request())
            reply = await read_to_eof(stream)
            await stream.close()
        done = time.monotonic()
    envelope = json.loads(reply)
    print("connect", round(connected - started, 3), "s; request", round(done - connected, 3), "s")
    print("reply", envelope["payloadtype"], base64.b64decode(envelope["payload"]).decode()[:200])


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
