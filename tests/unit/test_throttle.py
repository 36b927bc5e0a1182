from __future__ import annotations

from bai.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_after_limit_and_releases_after_window() -> None:
    clock = Clock()
    t = FailureThrottle(3, 10.0, clock)
    for _ in range(2):
        t.record_failure("1.2.3.4")
    assert t.retry_after("1.2.3.4") is None
    t.record_failure("1.2.3.4")
    wait = t.retry_after("1.2.3.4")
    assert wait is not None and 9.9 < wait <= 10.0
    assert t.retry_after("5.6.7.8") is None  # per source address
    clock.now += 10.01
    assert t.retry_after("1.2.3.4") is None


def test_memory_stays_bounded() -> None:
    t = FailureThrottle(3, 10.0, Clock())
    for _ in range(1000):
        t.record_failure("x")
    assert len(t._failures["x"]) == 3
