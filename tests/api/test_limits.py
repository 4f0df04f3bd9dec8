"""The per-key rate limit counted in this process, and the key cache asked without a thread."""

from __future__ import annotations

import pytest
from limits import parse_many

from calmline.api import deps
from calmline.api.deps import KeyCache, MovingWindow, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(deps.time, "monotonic", fake)
    return fake


def test_a_moving_window_lets_n_through_then_says_when(clock: Clock) -> None:
    window = MovingWindow(parse_many("3/minute"))
    assert [window.retry_after("a") for _ in range(3)] == [None, None, None]
    assert window.retry_after("a") == 60
    assert window.retry_after("b") is None  # per key
    clock.now += 45
    assert window.retry_after("a") == 15
    clock.now += 15
    assert window.retry_after("a") is None  # the first three have left the window
    assert window.retry_after("a") is None
    assert window.retry_after("a") is None
    assert window.retry_after("a") == 60


def test_every_limit_counts_and_a_refused_request_counts_for_none(clock: Clock) -> None:
    window = MovingWindow(parse_many("2/second;3/minute"))
    assert window.retry_after("a") is None
    assert window.retry_after("a") is None
    assert window.retry_after("a") == 1  # the per-second limit
    clock.now += 1
    assert window.retry_after("a") is None
    assert window.retry_after("a") == 59  # the per-minute limit; the refusal was not counted
    clock.now += 59
    assert window.retry_after("a") is None


def test_keys_without_recent_requests_are_forgotten(clock: Clock) -> None:
    window = MovingWindow(parse_many("5/minute"))
    for who in ("a", "b", "c"):
        window.retry_after(who)
    clock.now += 61
    window.retry_after("d")
    assert set(window._times) == {"d"}


def test_memory_storage_is_counted_in_process() -> None:
    assert RateLimiter("10/second", "memory://").in_process
    assert RateLimiter("10/second", "memory://").items[0].amount == 10


def test_the_key_cache_answers_fresh_keys_without_the_database(clock: Clock) -> None:
    class Keys:
        calls = 0

        def verify(self, token: str) -> None:
            Keys.calls += 1

    class Services:
        keys = Keys()

    cache = KeyCache(5.0)
    assert cache.cached("cl_x") == (False, None)
    assert cache.verify("cl_x", Services()) is None  # type: ignore[arg-type]
    assert cache.cached("cl_x") == (True, None)  # unknown keys are remembered too
    clock.now += 6
    assert cache.cached("cl_x") == (False, None)
    assert Keys.calls == 1
    assert KeyCache(0).cached("cl_x") == (False, None)
