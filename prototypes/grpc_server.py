"""Prototype (not packaged): a grpc.aio server for upstream v1.9.4's ColoniesService.

SendMessage hands the envelope text to an asyncio handler and returns the reply envelope in
json_payload; error_message stays empty (refusals are error envelopes). CheckHealth says
healthy. Stubs: prototypes/grpc_stubs, generated from prototypes/colonies.proto with
grpcio-tools 1.81.1 (see docs/backends-notes.md).

Run: python prototypes/grpc_server.py --port 47651 [--pad N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).parent / "grpc_stubs"))
import canned
import colonies_pb2
import colonies_pb2_grpc

log = logging.getLogger("grpc_server")
# Go clients accept 4 MiB replies by default; our receive limit must cover the HTTP body limit.
RECEIVE_LIMIT = 10 * 1024 * 1024


class ColoniesService(colonies_pb2_grpc.ColoniesServiceServicer):
    async def SendMessage(
        self, request: colonies_pb2.RPCRequest, context: grpc.aio.ServicerContext
    ) -> colonies_pb2.RPCResponse:
        reply = await canned.canned_handler(request.json_payload.encode())
        return colonies_pb2.RPCResponse(json_payload=reply.decode())

    async def CheckHealth(
        self, request: colonies_pb2.HealthRequest, context: grpc.aio.ServicerContext
    ) -> colonies_pb2.HealthResponse:
        return colonies_pb2.HealthResponse(healthy=True, version="prototype")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=47651)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    canned.PAD = args.pad
    canned.DELAY = args.delay
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", RECEIVE_LIMIT)])
    colonies_pb2_grpc.add_ColoniesServiceServicer_to_server(ColoniesService(), server)
    server.add_insecure_port(f"{args.host}:{args.port}")
    await server.start()
    print("LISTENING", f"{args.host}:{args.port}", flush=True)
    try:
        await asyncio.wait_for(server.wait_for_termination(), args.seconds)
    except TimeoutError:
        pass
    finally:
        await server.stop(grace=1)


if __name__ == "__main__":
    asyncio.run(main())
