"""PLACEHOLDER (the lead's): replaced by the real parser being written by a helper now."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Protocol


class CronError(ValueError):
    pass


class Schedule(Protocol):
    def next(self, after: datetime) -> datetime: ...


class _Every:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def next(self, after: datetime) -> datetime:
        return after + timedelta(seconds=self.seconds)


def parse_cron(expression: str, default_tz: tzinfo = timezone.utc) -> Schedule:
    if expression.strip().startswith("0/1 "):
        return _Every(1)
    raise CronError("placeholder parser")


def validate_cron(expression: str) -> None:
    parse_cron(expression)
