"""Time on the wire: RFC 3339 in UTC, Go's zero time for "unset", Unix nanoseconds for logs."""

from datetime import datetime, timedelta, timezone
from typing import Annotated

import msgspec

UTC = timezone.utc
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)

# A timestamp must carry a zone on the wire: Go clients cannot parse one without.
Time = Annotated[datetime, msgspec.Meta(tz=True)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_zero_time(value: datetime) -> bool:
    return value.year == 1 and value.month == 1 and value.day == 1 and value.hour == 0


def to_unix_ns(value: datetime) -> int:
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def from_unix_ns(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1_000)
