"""Errors the SDK raises."""


class ColoniesError(Exception):
    """An error reply from the server: its HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
