"""The per-process channel token bucket: 100 messages/s, burst 500."""

from __future__ import annotations

import time

from colonies.server.handlers.channels import _RateLimiter


def test_burst_then_refill(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    limiter = _RateLimiter(rate=100.0, burst=500)
    assert all(limiter.allow("p") for _ in range(500))
    assert not limiter.allow("p"), "the 501st message within the burst must be refused"
    assert limiter.allow("other"), "buckets are per process"
    now[0] += 0.0501  # 5 tokens back (and a little)
    assert sum(limiter.allow("p") for _ in range(10)) == 5


def test_bounded_number_of_buckets() -> None:
    limiter = _RateLimiter(rate=1.0, burst=1, capacity=3)
    for key in "abcde":
        limiter.allow(key)
    assert len(limiter.buckets) == 3
