"""Errors the SDK raises: the server's error replies, and the transports' failures.

A transport failure says how far the request got, which is what decides a retry:

- ``ConnectError`` (``TLSError`` among them): no connection, so nothing was sent; any request
  may be sent again.
- ``ConnectionLost``, ``ReadError``, ``Timeout``: the request was (or may have been) sent and
  no usable reply came back; the server may have carried it out.

They derive from the standard ``ConnectionError`` (``Timeout`` also from ``TimeoutError``), so
code that catches ``OSError`` or ``TimeoutError`` around a call keeps working.
"""


class ColoniesError(Exception):
    """An error reply from the server: its HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class TransportError(ConnectionError):
    """No reply to a request: the base of the transports' failures."""


class ConnectError(TransportError):
    """No connection to the server (refused, unreachable, TLS handshake failed, connect timed
    out): nothing was sent."""


class TLSError(ConnectError):
    """The TLS handshake failed (the certificate is not trusted, or no TLS at the other end)."""


class ConnectionLost(TransportError):
    """The connection broke after the request was sent, before the whole reply arrived."""


class ReadError(TransportError):
    """The reply could not be read (not HTTP, headers too large, body malformed)."""


class Timeout(TransportError, TimeoutError):
    """No reply within the request's timeout."""
