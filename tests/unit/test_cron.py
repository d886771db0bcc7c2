"""The 6-field, seconds-first cron parser (robfig/cron v3 semantics)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from colonies.core.cron import CronError, parse_cron, validate_cron

UTC = timezone.utc


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("0/1 * * * * *", t(2026, 1, 1, 0, 0, 0), t(2026, 1, 1, 0, 0, 1)),
        ("*/5 * * * * *", t(2026, 1, 1, 0, 0, 3), t(2026, 1, 1, 0, 0, 5)),
        ("5/15 * * * * *", t(2026, 1, 1, 0, 0, 21), t(2026, 1, 1, 0, 0, 35)),
        ("0 30 9 * * MON-FRI", t(2026, 11, 28, 12, 0, 0), t(2026, 11, 30, 9, 30, 0)),
        ("0 0 0 1 JAN *", t(2026, 3, 1), t(2027, 1, 1)),
        ("0 0 12 * * sun", t(2026, 11, 28), t(2026, 11, 29, 12)),
        ("0 0 0 13 * FRI", t(2026, 11, 28), t(2026, 12, 4)),  # either dom or dow
        ("0 0 0 29 2 *", t(2026, 3, 1), t(2028, 2, 29)),
        ("0 0,30 8-9 * * *", t(2026, 1, 1, 8, 10), t(2026, 1, 1, 8, 30)),
        ("0 0 8-18/5 * * *", t(2026, 1, 1, 14), t(2026, 1, 1, 18)),
        ("@daily", t(2026, 1, 1, 10), t(2026, 1, 2)),
        ("@hourly", t(2026, 1, 1, 10, 5), t(2026, 1, 1, 11)),
        ("@weekly", t(2026, 11, 28), t(2026, 11, 29)),
        ("@every 1h30m", t(2026, 1, 1, 10), t(2026, 1, 1, 11, 30)),
        ("@every 10s", t(2026, 1, 1), t(2026, 1, 1, 0, 0, 10)),
        ("@every 500ms", t(2026, 1, 1), t(2026, 1, 1, 0, 0, 1)),
    ],
)
def test_next_activation(expr: str, after: datetime, expected: datetime) -> None:
    assert parse_cron(expr).next(after) == expected


def test_next_is_strictly_after_an_activation() -> None:
    schedule = parse_cron("0 * * * * *")
    assert schedule.next(t(2026, 1, 1, 0, 1, 0)) == t(2026, 1, 1, 0, 2, 0)
    assert schedule.next(t(2026, 1, 1, 0, 1, 0) + timedelta(microseconds=5)) == t(2026, 1, 1, 0, 2)


def test_time_zone_prefix() -> None:
    schedule = parse_cron("TZ=Europe/Stockholm 0 0 9 * * *")
    assert schedule.next(t(2026, 1, 10)) == t(2026, 1, 10, 8)  # CET = UTC+1
    assert schedule.next(t(2026, 7, 10)) == t(2026, 7, 10, 7)  # CEST = UTC+2
    assert parse_cron("CRON_TZ=UTC 0 0 9 * * *").next(t(2026, 7, 10)) == t(2026, 7, 10, 9)


@pytest.mark.parametrize(
    "expr",
    [
        "* * * * *",  # five fields: seconds are required
        "61 * * * * *",
        "* * * * * 7",
        "*/0 * * * * *",
        "5-2 * * * * *",
        "* * * * FOO *",
        "@every 0s",
        "@every x",
        "@every",
        "@fortnightly",
        "TZ=Nowhere/X * * * * * *",
        "",
        "a b c d e f",
    ],
)
def test_invalid_expressions(expr: str) -> None:
    with pytest.raises(CronError):
        parse_cron(expr)


def test_impossible_schedule_is_an_error() -> None:
    with pytest.raises(CronError):
        parse_cron("0 0 0 30 2 *").next(t(2026, 1, 1))


def _matches(expr_fields: list[set[int]], when: datetime, dom_star: bool, dow_star: bool) -> bool:
    sec, minute, hour, dom, month, dow = expr_fields
    day_dom = when.day in dom
    day_dow = (when.isoweekday() % 7) in dow
    day = (day_dom and day_dow) if (dom_star or dow_star) else (day_dom or day_dow)
    return (
        when.second in sec and when.minute in minute and when.hour in hour
        and when.month in month and day
    )  # fmt: skip


def test_random_expressions_against_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(60):
        secs = sorted(rng.sample(range(60), rng.randint(1, 4)))
        mins = sorted(rng.sample(range(60), rng.randint(1, 5)))
        hours = sorted(rng.sample(range(24), rng.randint(1, 3)))
        listed = [",".join(map(str, values)) for values in (secs, mins, hours)]
        expr = " ".join(listed) + " * * *"
        schedule = parse_cron(expr)
        start = t(2026, 1, 1) + timedelta(seconds=rng.randint(0, 86_400 * 3))
        got = schedule.next(start)
        fields = [
            set(secs),
            set(mins),
            set(hours),
            set(range(1, 32)),
            set(range(1, 13)),
            set(range(7)),
        ]
        probe = start.replace(microsecond=0) + timedelta(seconds=1)
        while probe < got:  # nothing skipped in between
            assert not _matches(fields, probe, True, True), (expr, start, probe)
            probe += timedelta(seconds=1)
        assert got > start and _matches(fields, got, True, True)


# --- the horizon: a schedule must fire within it (core/limits.py) ---------------------------
@pytest.mark.parametrize(
    "expr",
    [
        "0 0 0 31 2 *",  # 31 February
        "0 0 0 30 2 *",
        "@every 99999999999h",
        "@every " + "9" * 400 + "s",  # infinity as a float
        "@every 1831d",  # not a unit robfig knows, and too long anyway
        "0 " * 600,
    ],
    ids=["31-feb", "30-feb", "every-huge", "every-infinite", "every-days", "too-long"],
)
def test_a_schedule_that_does_not_fire_within_the_horizon_is_refused(expr: str) -> None:
    with pytest.raises(CronError):
        validate_cron(expr, t(2026, 1, 1))


def test_a_schedule_within_the_horizon_passes() -> None:
    now = t(2026, 3, 1)
    assert validate_cron("0 0 0 29 2 *", now).next(now) == t(2028, 2, 29)  # two years on
    assert validate_cron("@every 43920h", now).next(now) == now + timedelta(hours=43920)
    with pytest.raises(CronError):
        validate_cron("@every 43921h", now)  # an hour past 5 x 366 days
