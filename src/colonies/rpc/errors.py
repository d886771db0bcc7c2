"""The one exception a handler raises to answer with an error envelope."""


class RpcError(Exception):
    """An error reply: HTTP status and the message clients match on (protocol.md §3.5, §3.8)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"RpcError({self.status}, {self.message!r})"


def bad_request(message: str) -> RpcError:
    return RpcError(400, message)


def forbidden(message: str) -> RpcError:
    return RpcError(403, message)


def not_found(message: str) -> RpcError:
    return RpcError(404, message)
