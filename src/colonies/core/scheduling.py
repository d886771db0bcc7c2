"""Scheduling rules without I/O: priority time (docs/protocol.md §7.4) and submission limits."""

from __future__ import annotations

NS_PER_DAY = 86_400 * 1_000_000_000
MIN_PRIORITY = -50_000
MAX_PRIORITY = 50_000
MAX_COUNT = 100  # list replies
MAX_LOG_COUNT = 500
MAX_LOG_SEARCH_DAYS = 30


def priority_time(submission_unix_ns: int, priority: int) -> int:
    """One priority point is worth one day of queue age; smallest first."""
    return submission_unix_ns - priority * NS_PER_DAY


def has_limit(seconds: int) -> bool:
    """``maxexectime``/``maxwaittime``: 0 and -1 both mean no limit (§8.1 item 1)."""
    return seconds > 0


# Channels (§7.12, upstream pkg/constants).
MAX_CHANNELS = 100  # per process
MAX_CHANNEL_PAYLOAD = 10 * 1024 * 1024  # bytes per message
MAX_CHANNEL_ENTRIES = 10_000  # per channel
CHANNEL_RATE = 100.0  # messages per second per process
CHANNEL_BURST = 500
