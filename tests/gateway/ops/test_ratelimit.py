# SPDX-License-Identifier: Apache-2.0
"""The in-memory token bucket: `take_many` answers as `take` key by key, least recently used keys go."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.gateway.ops.ratelimit import RateLimiter

keys = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(keys, st.floats(0.0, 30.0)), min_size=1, max_size=6),
    st.integers(1, 6),
    st.sampled_from([0.0, 1.0, 6.0, 120.0]),
    st.sampled_from([None, 0.5, 3.0]),
)
def test_take_many_equals_take_key_by_key(
    batches: list[tuple[list[str], float]], max_keys: int, rate: float, burst: float | None
) -> None:
    many, one = (RateLimiter(rate, per=60.0, burst=burst, max_keys=max_keys) for _ in range(2))
    now = 1000.0
    for batch, gap in batches:
        now += gap
        assert many.take_many(batch, now=now) == [one.take(k, now=now) for k in batch]
    assert list(many._buckets.items()) == list(one._buckets.items())


def test_a_key_is_refused_once_its_burst_is_spent_and_refills_at_the_rate() -> None:
    limiter = RateLimiter(2, per=60.0)
    assert limiter.take_many(["v", "w", "v", "v"], now=0.0) == [0.0, 0.0, 0.0, 30.0]
    assert limiter.take_many(["v"], now=15.0) == [15.0]
    assert limiter.take_many(["v"], now=30.0) == [0.0]


def test_the_least_recently_used_key_is_forgotten_first() -> None:
    limiter = RateLimiter(1, per=60.0, max_keys=2)
    assert limiter.take_many(["a", "b", "a", "c"], now=0.0) == [0.0, 0.0, 60.0, 0.0]
    # "b" was the least recently used when "c" came: forgotten, so it has its burst again.
    assert limiter.take_many(["b"], now=0.0) == [0.0]
    assert list(limiter._buckets) == ["c", "b"]
    assert limiter.take("c", now=0.0) == 60.0
