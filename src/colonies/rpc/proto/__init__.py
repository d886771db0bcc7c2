"""The gRPC backend's service definition (colonies.proto) and its generated, checked-in stubs
(docs/protocol.md §12.1). Importing the stubs imports grpcio and protobuf."""
