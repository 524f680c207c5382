"""RateLimiter on every KeyValue adapter: allows ``limit`` hits per window, then 429 with Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from wealist_adapters.memory.keyvalue import MemoryKeyValue
from wealist_adapters.redis.keyvalue import RedisKeyValue

from wealist_core import KeyValue, RateDecision, RateLimited, RateLimiter

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def kv_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def kv(kv_url: str) -> AsyncIterator[KeyValue]:
    store: KeyValue = MemoryKeyValue() if kv_url == "memory://" else RedisKeyValue.from_url(kv_url)
    await store.start()
    yield store
    await store.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_allows_limit_then_denies_then_allows_after_the_window(kv: KeyValue) -> None:
    limiter = RateLimiter(kv)
    window = 0.5
    decisions = [await limiter.hit("sign-in:10.0.0.1", limit=3, window=window) for _ in range(3)]
    assert [(d.allowed, d.remaining) for d in decisions] == [(True, 2), (True, 1), (True, 0)]

    denied = await limiter.hit("sign-in:10.0.0.1", limit=3, window=window)
    assert denied == RateDecision(allowed=False, remaining=0, retry_after=1)
    with pytest.raises(RateLimited) as caught:
        await limiter.enforce("sign-in:10.0.0.1", limit=3, window=window)
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "1"

    # Retrying while denied does not push the window out: the first hit leaves it after ~0.5 s.
    started = time.monotonic()
    while not (await limiter.hit("sign-in:10.0.0.1", limit=3, window=window)).allowed:
        assert time.monotonic() - started < window + 1.0, "still denied long after the window"
        await asyncio.sleep(0.05)
    decision = await limiter.enforce("sign-in:10.0.0.1", limit=3, window=window)
    assert decision.allowed


async def test_retry_after_counts_down_to_when_the_oldest_hit_leaves(kv: KeyValue) -> None:
    clock = FakeClock()
    limiter = RateLimiter(kv, clock=clock)
    for _ in range(3):
        assert (await limiter.hit("writes:ann", limit=3, window=60)).allowed
        clock.now += 10  # hits at t=0, 10, 20
    assert await limiter.hit("writes:ann", limit=3, window=60) == RateDecision(False, 0, 30)  # at t=30
    clock.now += 25
    assert (await limiter.hit("writes:ann", limit=3, window=60)).retry_after == 5  # at t=55
    clock.now += 5.5
    assert await limiter.hit("writes:ann", limit=3, window=60) == RateDecision(True, 0, 0)  # t=60.5
    assert (await limiter.hit("writes:ann", limit=3, window=60)).retry_after == 10  # t=10 leaves at 70


async def test_keys_are_limited_independently(kv: KeyValue) -> None:
    limiter = RateLimiter(kv)
    assert (await limiter.hit("ann", limit=1, window=60)).allowed
    assert not (await limiter.hit("ann", limit=1, window=60)).allowed
    assert (await limiter.hit("bob", limit=1, window=60)).allowed


async def test_concurrent_hits_never_exceed_the_limit(kv: KeyValue) -> None:
    limiter = RateLimiter(kv)
    decisions = await asyncio.gather(*(limiter.hit("burst", limit=5, window=60) for _ in range(20)))
    assert 1 <= sum(d.allowed for d in decisions) <= 5


async def test_limiter_keys_live_in_their_own_namespace_and_expire(kv: KeyValue) -> None:
    limiter = RateLimiter(kv.namespace("auth:"))
    await limiter.hit("ip:1", limit=5, window=30)
    assert await kv.zcard("auth:ratelimit:ip:1") == 1
    remaining = await kv.ttl("auth:ratelimit:ip:1")
    assert remaining is not None and 0 < remaining <= 30


async def test_invalid_limits_are_refused(kv: KeyValue) -> None:
    limiter = RateLimiter(kv)
    with pytest.raises(ValueError):
        await limiter.hit("k", limit=0, window=1)
    with pytest.raises(ValueError):
        await limiter.hit("k", limit=1, window=0)
