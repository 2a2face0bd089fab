"""The proxy's error limiting of object servers (Swift's error_suppression_interval / _limit)."""

from __future__ import annotations

from onestack.object_store.proxy.error_limit import ErrorLimiter
from onestack.object_store.ring.ring import Device

NODE = Device(id=1, host="h", device="d1")
OTHER = Device(id=2, host="h", device="d2")
REMOTE = Device(id=3, host="r", device="r1", port=6200)
REMOTE_TOO = Device(id=4, host="r", device="r2", port=6200)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_more_errors_than_the_limit_skip_the_node_for_the_interval() -> None:
    clock = Clock()
    limiter = ErrorLimiter(interval=60, limit=2, clock=clock)
    for _ in range(2):
        limiter.error_occurred(NODE)
    assert not limiter.is_limited(NODE)  # as Swift: limited only past the limit
    limiter.error_occurred(NODE)
    assert limiter.is_limited(NODE) and not limiter.is_limited(OTHER)
    clock.now += 59
    assert limiter.is_limited(NODE)
    clock.now += 2  # a whole interval since the last error: forgiven, counting starts again
    assert not limiter.is_limited(NODE)
    limiter.error_occurred(NODE)
    assert not limiter.is_limited(NODE)


def test_errors_spread_beyond_the_interval_never_add_up() -> None:
    clock = Clock()
    limiter = ErrorLimiter(interval=10, limit=1, clock=clock)
    for _ in range(5):
        limiter.error_occurred(NODE)
        clock.now += 11
        assert not limiter.is_limited(NODE)


def test_a_507_limits_at_once() -> None:
    clock = Clock()
    limiter = ErrorLimiter(interval=60, limit=10, clock=clock)
    limiter.error_limit(NODE)
    assert limiter.is_limited(NODE)
    clock.now += 61
    assert not limiter.is_limited(NODE)


def test_connection_errors_limit_every_device_of_the_server_and_a_507_only_its_own() -> None:
    limiter = ErrorLimiter(interval=60, limit=0, clock=Clock())
    limiter.error_occurred(REMOTE)
    assert limiter.is_limited(REMOTE) and limiter.is_limited(REMOTE_TOO)
    limiter = ErrorLimiter(interval=60, limit=0, clock=Clock())
    limiter.error_limit(REMOTE)
    assert limiter.is_limited(REMOTE) and not limiter.is_limited(REMOTE_TOO)
