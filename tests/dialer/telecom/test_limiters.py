from __future__ import annotations

import asyncio
import time
from bisect import bisect_left

import pytest
from redis.asyncio import Redis

from dialer.telecom.limiters import (
    SEND_JITTER,
    ConcurrencyLimiter,
    CpsLimiter,
    Scope,
    admission,
)


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
    # 80 slots spaced (1 s + jitter) / rate apart cannot fit in less than 79 intervals
    assert max(stamps) - min(stamps) >= 79 * (1 + SEND_JITTER) / rate - 0.01


@pytest.mark.parametrize(("lead", "early"), [(0.0, 0.0), (0.3, 0.3), (5.0, 1 + SEND_JITTER)])
async def test_acquire_returns_the_lead_before_the_slot(
    redis_client: Redis, lead: float, early: float
) -> None:
    limiter = CpsLimiter(redis_client, rate=1.0)
    await limiter.acquire()  # the next slot is 1.05 s away
    started = time.monotonic()
    left = await limiter.acquire(lead=lead)
    assert left == pytest.approx(early, abs=0.03)
    assert time.monotonic() - started + left == pytest.approx(1 + SEND_JITTER, abs=0.05)


async def test_reservation_beyond_the_horizon_reserves_nothing(redis_client: Redis) -> None:
    limiter = CpsLimiter(redis_client, rate=1.0, horizon=2.5)
    interval = 1 + SEND_JITTER
    assert limiter.spacing == pytest.approx(interval)
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


async def test_many_leases_are_taken_in_turn_in_one_round_trip(redis_client: Redis) -> None:
    limiter = ConcurrencyLimiter(redis_client, lease_seconds=60)
    glob, camp = Scope("g", 3), Scope("c", 2)
    await redis_client.script_flush()  # the pipeline must load the script itself
    granted = await limiter.acquire_many(
        [("1", [glob, camp]), ("2", [glob, camp]), ("3", [glob, camp]), ("4", [glob])]
    )
    assert granted == [True, True, False, True]
    assert await limiter.holders(glob) == ["1", "2", "4"]
    assert await limiter.holders(camp) == ["1", "2"]
    assert await limiter.acquire_many([]) == []


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


@pytest.mark.parametrize(
    ("rate", "count", "window"),
    [
        (20.0, 20, 1.0),
        (100.0, 100, 1.0),
        (2.5, 2, 1.0),  # 3 in a second would exceed 2.5
        (1.0, 1, 1.0),
        (0.5, 1, 2.0),  # one every two seconds
        (0.3, 1, 1 / 0.3),
    ],
)
def test_admission_window_never_lets_more_than_the_rate_into_a_second(
    rate: float, count: int, window: float
) -> None:
    admitted, seconds = admission(rate)
    assert admitted == count
    assert seconds == pytest.approx(window + SEND_JITTER)


async def test_late_wakers_are_admitted_no_faster_than_the_rate(redis_client: Redis) -> None:
    """Sixty requests all at once (workers woken late together) leave at most 20 per window."""
    rate = 20.0
    limiters = [CpsLimiter(redis_client, rate=rate, key="limit:burst") for _ in range(4)]
    stamps: list[float] = []

    async def send(limiter: CpsLimiter) -> float:
        waited = await limiter.admit()
        stamps.append(time.monotonic())
        return waited

    started = time.monotonic()
    waits = await asyncio.gather(*(send(limiters[i % 4]) for i in range(60)))
    assert len(stamps) == 60
    assert max_in_window(stamps, 1.0 + SEND_JITTER) <= rate
    assert sorted(waits)[:20] == [0.0] * 20  # the first twenty did not wait
    assert max(stamps) - started >= 2 * (1.0 + SEND_JITTER) - 0.01


async def test_admission_keeps_to_the_rate_when_slots_are_punctual(redis_client: Redis) -> None:
    """Reserved slots come at the admission log's pace: it does not hold them back."""
    limiter = CpsLimiter(redis_client, rate=20.0, key="limit:punctual")
    waits = []
    for _ in range(30):
        await limiter.acquire()
        waits.append(await limiter.admit())
    assert sum(waits) < 0.1  # a few ms where a slot's sleep overshot; a wrong window: ~1 s
