"""Cron expressions as upstream (robfig/cron v3) reads them, without I/O (docs/protocol.md §7.11).

Six fields, seconds first: ``second minute hour day-of-month month day-of-week``, with ``*``,
``?``, lists, ranges, steps and month/weekday names; or a descriptor (``@daily``, ``@every 1h30m``
...). An optional ``TZ=<zone>`` or ``CRON_TZ=<zone>`` prefix selects the zone. Five-field
expressions are refused: upstream's parser requires the seconds field.

A schedule must fire within a bounded horizon (core/limits.py): :func:`validate_cron` refuses
an expression that never fires in it (31 February), and ``@every`` accepts durations up to it.
An expression longer than :data:`~colonies.core.limits.MAX_CRON_EXPRESSION` is not parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from colonies.core.limits import CRON_HORIZON_SECONDS, MAX_CRON_EXPRESSION

__all__ = ["CronError", "Schedule", "parse_cron", "validate_cron"]

UTC = timezone.utc


class CronError(ValueError):
    """An expression that does not parse, or a schedule that never fires."""


class Schedule(Protocol):
    def next(self, after: datetime) -> datetime:
        """The first activation strictly after ``after`` (aware), in UTC."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_MONTHS = {
    m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())
}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_FIELDS = (
    _Field("second", 0, 59, {}),
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 6, _DAYS),
)
_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}  # fmt: skip
_SEARCH_YEARS = 5


def _value(text: str, f: _Field) -> int:
    lowered = text.lower()
    if lowered in f.names:
        return f.names[lowered]
    if not text.isdigit():
        raise CronError(f"{f.name}: {text!r} is not a number or a name")
    return int(text)


def _parse_field(text: str, f: _Field) -> tuple[frozenset[int], bool]:
    """The allowed values, and whether the field was unrestricted (``*`` or ``?``)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronError(f"{f.name}: empty list item in {text!r}")
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{f.name}: invalid step {step_text!r}")
            step = int(step_text)
        if rng in ("*", "?"):
            low, high = f.low, f.high
            star = star or not step_text
        elif "-" in rng:
            a, _, b = rng.partition("-")
            low, high = _value(a, f), _value(b, f)
        else:
            low = _value(rng, f)
            high = f.high if step_text else low  # "a/n" runs from a to the field's end
        if not (f.low <= low <= f.high and f.low <= high <= f.high) or low > high:
            raise CronError(f"{f.name}: {part!r} is outside {f.low}-{f.high}")
        values.update(range(low, high + 1, step))
    return frozenset(values), star


@dataclass(frozen=True)
class _SpecSchedule:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_star: bool
    weekdays_star: bool
    zone: tzinfo

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.days
        dow = (t.isoweekday() % 7) in self.weekdays
        if self.days_star or self.weekdays_star:
            return dom and dow
        return dom or dow

    def next(self, after: datetime) -> datetime:
        # robfig's algorithm: advance the largest field that does not match, reset the smaller.
        t = after.astimezone(self.zone).replace(microsecond=0) + timedelta(seconds=1)
        limit = t.year + _SEARCH_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                t = _first_of_next_month(t)
                continue
            if not self._day_matches(t):
                t = _start_of_day(t + timedelta(days=1))
                continue
            if t.hour not in self.hours:
                t = _start_of_hour(t + timedelta(hours=1))
                continue
            if t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
                continue
            if t.second not in self.seconds:
                t = t + timedelta(seconds=1)
                continue
            return _normalised(t).astimezone(UTC)
        raise CronError(f"no activation within {_SEARCH_YEARS} years")


def _normalised(t: datetime) -> datetime:
    """Wall-clock arithmetic can land in a DST gap; round-trip through UTC to a real time."""
    return t.astimezone(UTC).astimezone(t.tzinfo)


def _first_of_next_month(t: datetime) -> datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)


def _start_of_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0)


def _start_of_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0)


@dataclass(frozen=True)
class _Every:
    seconds: int

    def next(self, after: datetime) -> datetime:
        # robfig's ConstantDelaySchedule: whole seconds, at least one, aligned to the second.
        return (after + timedelta(seconds=self.seconds)).replace(microsecond=0).astimezone(UTC)


def _parse_duration(text: str) -> float:
    pos, total = 0, 0.0
    if not text:
        raise CronError("@every needs a duration such as 1h30m")
    while pos < len(text):
        match = _DURATION.match(text, pos)
        if match is None:
            raise CronError(f"@every: invalid duration {text!r}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if not total <= CRON_HORIZON_SECONDS:  # also infinity, from hundreds of digits
            raise CronError(f"@every: a duration longer than {CRON_HORIZON_SECONDS} s")
        pos = match.end()
    return total


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {name!r}") from None


def parse_cron(expression: str, default_tz: tzinfo = UTC) -> Schedule:
    if len(expression) > MAX_CRON_EXPRESSION:
        raise CronError(f"an expression longer than {MAX_CRON_EXPRESSION} characters")
    text = expression.strip()
    zone = default_tz
    if text.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, text = text.partition(" ")
        zone = _zone(prefix.partition("=")[2])
        text = text.strip()
    if not text:
        raise CronError("empty cron expression")
    if text.startswith("@every"):
        seconds = _parse_duration(text[len("@every") :].strip())
        if seconds <= 0:
            raise CronError("@every needs a positive duration")
        return _Every(max(int(seconds), 1))
    if text.startswith("@"):
        if text not in _DESCRIPTORS:
            raise CronError(f"unknown descriptor {text!r}")
        text = _DESCRIPTORS[text]
    fields = text.split()
    if len(fields) != 6:
        raise CronError(
            f"expected 6 fields (second minute hour day-of-month month day-of-week), "
            f"got {len(fields)}"
        )
    parsed = [_parse_field(value, f) for value, f in zip(fields, _FIELDS, strict=True)]
    return _SpecSchedule(
        seconds=parsed[0][0],
        minutes=parsed[1][0],
        hours=parsed[2][0],
        days=parsed[3][0],
        months=parsed[4][0],
        weekdays=parsed[5][0],
        days_star=parsed[3][1],
        weekdays_star=parsed[5][1],
        zone=zone,
    )


def validate_cron(expression: str, now: datetime, tz: tzinfo = UTC) -> Schedule:
    """The schedule of ``expression``, once it is known to fire within the horizon after
    ``now``; CronError otherwise."""
    schedule = parse_cron(expression, tz)
    try:
        first = schedule.next(now)
    except (OverflowError, ValueError) as exc:  # CronError is a ValueError
        raise CronError(str(exc) if isinstance(exc, CronError) else "no activation") from None
    if (first - now).total_seconds() > CRON_HORIZON_SECONDS:
        raise CronError(f"no activation within {CRON_HORIZON_SECONDS // 86_400} days")
    return schedule
