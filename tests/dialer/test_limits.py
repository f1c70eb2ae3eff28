from __future__ import annotations

import asyncio
import time
from bisect import bisect_left

import pytest
from redis.asyncio import Redis

from dialer.limits import CPS_SAFETY, ConcurrencyLimiter, CpsLimiter, Scope


def max_in_window(stamps: list[float], width: float = 1.0) -> int:
    """The most events inside any half-open window [t, t + width) starting at an event."""
    ordered = sorted(stamps)
    return max(bisect_left(ordered, t + width) - i for i, t in enumerate(ordered))


async def test_slots_are_spaced_so_no_second_exceeds_the_rate(redis_client: Redis) -> None:
    rate = 40.0
    limiters = [CpsLimiter(redis_client, rate=rate) for _ in range(4)]  # four "processes"
    stamps: list[float] = []

    async def caller(limiter: CpsLimiter, n: int) -> None:
        for _ in range(n):
            await limiter.acquire()
            stamps.append(time.monotonic())

    await asyncio.gather(*(caller(limiters[i % 4], 10) for i in range(8)))
    assert len(stamps) == 80
    assert max_in_window(stamps) <= rate
    # 80 slots spaced 1/(rate * safety) apart cannot fit in less than 79 intervals
    assert max(stamps) - min(stamps) >= 79 / (rate * CPS_SAFETY) - 0.01


async def test_reservation_beyond_the_horizon_reserves_nothing(redis_client: Redis) -> None:
    limiter = CpsLimiter(redis_client, rate=1.0, horizon=2.5)
    interval = 1 / CPS_SAFETY
    waits = [await limiter.reserve() for _ in range(4)]
    assert waits[:3] == pytest.approx([0.0, interval, 2 * interval], abs=0.05)
    assert waits[3] == pytest.approx(-3 * interval, abs=0.05)  # beyond the horizon: refused
    assert await limiter.reserve() == pytest.approx(-3 * interval, abs=0.05)  # schedule unmoved


def test_rate_must_be_positive(redis_client: Redis) -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        CpsLimiter(redis_client, rate=0)


async def test_concurrency_is_all_or_nothing_across_scopes(redis_client: Redis) -> None:
    limiter = ConcurrencyLimiter(redis_client, lease_seconds=60)
    glob, camp = Scope("g", 3), Scope("c", 2)
    assert await limiter.acquire("1", [glob, camp])
    assert await limiter.acquire("2", [glob, camp])
    assert not await limiter.acquire("3", [glob, camp])  # the campaign is full
    assert await limiter.holders(glob) == ["1", "2"]  # and the global lease was not taken
    assert await limiter.acquire("3", [glob])
    assert not await limiter.acquire("4", [glob])
    assert await limiter.free(glob) == 0
    await limiter.release("1", [glob, camp])
    assert await limiter.free(glob) == 1
    assert await limiter.free(camp) == 1
    assert await limiter.acquire("2", [glob, camp])  # renewing a held lease never fails


async def test_expired_leases_free_their_slots(redis_client: Redis) -> None:
    limiter = ConcurrencyLimiter(redis_client, lease_seconds=0.2)
    scope = Scope("g", 1)
    assert await limiter.acquire("crashed", [scope])
    assert not await limiter.acquire("next", [scope])
    await asyncio.sleep(0.3)
    assert await limiter.free(scope) == 1
    assert await limiter.acquire("next", [scope])
    assert await limiter.holders(scope) == ["next"]


async def test_concurrent_acquirers_never_oversubscribe(redis_client: Redis) -> None:
    limiter = ConcurrencyLimiter(redis_client, lease_seconds=60)
    scope = Scope("g", 7)
    results = await asyncio.gather(*(limiter.acquire(str(i), [scope]) for i in range(50)))
    assert sum(results) == 7
    assert len(await limiter.holders(scope)) == 7


async def test_release_calls_frees_global_and_campaign_leases_at_once(
    redis_client: Redis,
) -> None:
    limiter = ConcurrencyLimiter(redis_client, lease_seconds=60)
    glob = ConcurrencyLimiter.global_scope(5)
    one, two = ConcurrencyLimiter.campaign_scope(1, 5), ConcurrencyLimiter.campaign_scope(2, 5)
    for member, scope in (("10", one), ("11", one), ("20", two)):
        assert await limiter.acquire(member, [glob, scope])
    await limiter.release_calls([(10, 1), (20, 2)])
    assert await limiter.holders(glob) == ["11"]
    assert await limiter.holders(one) == ["11"]
    assert await limiter.holders(two) == []
    await limiter.release_calls([])  # nothing to do is no error
