"""The checked-in gRPC stubs are what grpcio-tools generates from the checked-in .proto, and the
upstream part of the service is upstream v1.9.4's (docs/protocol.md §12.1)."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
PROTO = "colonies/rpc/proto/colonies.proto"
GENERATED = ("colonies_pb2.py", "colonies_pb2.pyi", "colonies_pb2_grpc.py")


def test_stubs_match_the_proto(tmp_path: Path) -> None:
    from grpc_tools import protoc

    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{SRC}",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            str(SRC / PROTO),
        ]
    )
    assert status == 0
    for name in GENERATED:
        fresh = (tmp_path / "colonies/rpc/proto" / name).read_text()
        checked_in = (SRC / "colonies/rpc/proto" / name).read_text()
        assert fresh == checked_in, f"{name} is stale: regenerate it (see {PROTO})"


def test_upstream_service_is_unchanged() -> None:
    """Method paths, messages and field numbers the Go clients of v1.9.4 use."""
    from colonies.rpc.proto import colonies_pb2 as pb

    service = pb.DESCRIPTOR.services_by_name["ColoniesService"]
    methods = {m.name: (m.input_type.full_name, m.output_type.full_name) for m in service.methods}
    assert methods == {
        "SendMessage": ("colonies.RPCRequest", "colonies.RPCResponse"),
        "CheckHealth": ("colonies.HealthRequest", "colonies.HealthResponse"),
    }
    assert not any(m.server_streaming or m.client_streaming for m in service.methods)
    fields = {
        name: [(f.name, f.number, f.type) for f in pb.DESCRIPTOR.message_types_by_name[name].fields]
        for name in ("RPCRequest", "RPCResponse", "HealthRequest", "HealthResponse")
    }
    string, boolean = 9, 8  # FieldDescriptor.TYPE_STRING, TYPE_BOOL
    assert fields == {
        "RPCRequest": [("json_payload", 1, string)],
        "RPCResponse": [("json_payload", 1, string), ("error_message", 2, string)],
        "HealthRequest": [],
        "HealthResponse": [("healthy", 1, boolean), ("version", 2, string)],
    }
    subscribe = pb.DESCRIPTOR.services_by_name["ColoniesSubscriptions"].methods_by_name["Subscribe"]
    assert subscribe.server_streaming and not subscribe.client_streaming
