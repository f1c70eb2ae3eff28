from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.pace import Due
from dialer.telecom.limiters import ConcurrencyLimiter
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of
from tests.workers.conftest import PacerFactory
from tests.workers.support import NOW, Clock, attempts, campaign, contact, resources_of
from workers.pace import DIAL_LEAD, Leadership, Pacer, start_delays

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]


async def pending(sessions: Sessions, campaign_id: int, numbers: range, **fields: Any) -> list[int]:
    return await insert_contacts(sessions, campaign_id, numbers, **({"status": "pending"} | fields))


async def holders(ctx: dict[str, Any], campaign_id: int | None = None) -> list[str]:
    limiter = resources_of(ctx).concurrency
    scope = (
        ConcurrencyLimiter.global_scope(0)
        if campaign_id is None
        else ConcurrencyLimiter.campaign_scope(campaign_id, 0)
    )
    return sorted(await limiter.holders(scope), key=int)


async def test_a_tick_claims_within_the_global_limit_and_enqueues_dials(
    sessions: Sessions, offline: PacerFactory, arq_redis: ArqRedis
) -> None:
    cid = await insert_campaign(sessions)
    await pending(sessions, cid, range(10))
    async with offline(Clock(NOW), max_concurrent=3) as ctx:
        pacer = Pacer(resources_of(ctx))
        first = await pacer.tick(NOW)
        assert len(first) == 3
        assert await pacer.tick(NOW) == []  # every global slot is leased
        assert await holders(ctx) == [str(i) for i in first]
        jobs = await arq_redis.queued_jobs()
        assert sorted((j.function, j.args, j.job_id) for j in jobs) == [
            ("dial", (i,), f"dial:{i}") for i in first
        ]
        await resources_of(ctx).release_leases([(first[0], cid)])
        assert len(await pacer.tick(NOW)) == 1
    rows = await attempts(sessions)
    assert [(a.state, a.claimed_at) for a in rows] == [("claimed", NOW)] * 4


async def test_a_campaign_never_exceeds_its_own_limit(
    sessions: Sessions, offline: PacerFactory
) -> None:
    small = await insert_campaign(sessions, max_concurrent=2)
    await pending(sessions, small, range(5))
    async with offline(Clock(NOW), max_concurrent=50) as ctx:
        claimed = await Pacer(resources_of(ctx)).tick(NOW)
        assert len(claimed) == 2
        assert await holders(ctx, small) == [str(i) for i in claimed]


async def test_slots_are_shared_by_priority(sessions: Sessions, offline: PacerFactory) -> None:
    high = await insert_campaign(sessions, priority=3, name="high")
    low = await insert_campaign(sessions, priority=1, name="low")
    await pending(sessions, high, range(10))
    await pending(sessions, low, range(10))
    async with offline(Clock(NOW), max_concurrent=4) as ctx:
        await Pacer(resources_of(ctx)).tick(NOW)
    assert Counter(a.campaign_id for a in await attempts(sessions)) == {high: 3, low: 1}


async def test_a_campaign_with_little_due_leaves_its_share_to_others(
    sessions: Sessions, offline: PacerFactory
) -> None:
    high = await insert_campaign(sessions, priority=5, name="high")
    low = await insert_campaign(sessions, priority=1, name="low")
    await pending(sessions, high, range(1))
    await pending(sessions, low, range(10))
    async with offline(Clock(NOW), max_concurrent=6) as ctx:
        await Pacer(resources_of(ctx)).tick(NOW)
    assert Counter(a.campaign_id for a in await attempts(sessions)) == {high: 1, low: 5}


async def test_only_callees_inside_their_window_are_claimed(
    sessions: Sessions, offline: PacerFactory
) -> None:
    late = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 16:00 Moscow, 23:00 Vladivostok
    cid = await insert_campaign(sessions, window={})  # default: workdays 08:00-22:00
    (moscow,) = await pending(sessions, cid, range(1))
    (far,) = await pending(sessions, cid, range(1, 2), timezone="Asia/Vladivostok")
    async with offline(Clock(late)) as ctx:
        pacer = Pacer(resources_of(ctx))
        await pacer.tick(late)
        assert [a.contact_id for a in await attempts(sessions)] == [moscow]
        morning = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # 08:00 in Vladivostok, 01:00 Moscow
        await pacer.tick(morning)
    assert [a.contact_id for a in await attempts(sessions)] == [moscow, far]


async def test_the_backlog_of_unsent_claims_follows_the_cps(
    sessions: Sessions, offline: PacerFactory
) -> None:
    cid = await insert_campaign(sessions)
    await pending(sessions, cid, range(10))
    async with offline(Clock(NOW), cps=1.0) as ctx:
        pacer = Pacer(resources_of(ctx))
        assert len(await pacer.tick(NOW)) == 2  # two seconds' worth at 1 call/s
        assert await pacer.tick(NOW) == []


@pytest.mark.parametrize(
    ("count", "first", "spacing", "lead", "delays"),
    [
        (0, 0.0, 0.1, 0.4, []),
        (3, 0.0, 0.1, 0.4, [0.0, 0.0, 0.0]),  # all due within the lead: start now
        (3, 1.0, 0.5, 0.4, [0.6, 1.1, 1.6]),
        (4, 0.2, 0.1, 0.4, [0.0, 0.0, 0.0, 0.1]),
    ],
)
def test_start_delays_put_each_job_a_lead_before_its_send(
    count: int, first: float, spacing: float, lead: float, delays: list[float]
) -> None:
    assert start_delays(count, first=first, spacing=spacing, lead=lead) == pytest.approx(delays)


async def test_dial_jobs_are_deferred_to_their_turn_at_the_limiter(
    sessions: Sessions, offline: PacerFactory, arq_redis: ArqRedis
) -> None:
    """Not all started at once to wait in arq as running jobs, which every poll re-checks."""
    cid = await insert_campaign(sessions, max_concurrent=100)
    await pending(sessions, cid, range(40))
    async with offline(Clock(NOW), cps=10.0, max_concurrent=100) as ctx:
        pacer = Pacer(resources_of(ctx))
        spacing = resources_of(ctx).cps.spacing
        first = await pacer.tick(NOW)
        assert len(first) == 20  # two seconds' worth
        jobs = sorted(await arq_redis.queued_jobs(), key=lambda job: job.args[0])
        deferred = [(job.score or 0) / 1000 - job.enqueue_time.timestamp() for job in jobs]
        expected = start_delays(20, first=0.0, spacing=spacing, lead=DIAL_LEAD)
        assert deferred == pytest.approx(expected, abs=0.002)
        assert expected[-1] > 1.5  # the twentieth waits for its turn, not in arq's running set


async def test_a_scheduled_campaign_starts_when_its_time_comes(
    sessions: Sessions, offline: PacerFactory
) -> None:
    cid = await insert_campaign(sessions, status="scheduled", start_at=NOW + timedelta(minutes=1))
    await pending(sessions, cid, range(1))
    async with offline(Clock(NOW)) as ctx:
        pacer = Pacer(resources_of(ctx))
        assert await pacer.tick(NOW) == []
        assert len(await pacer.tick(NOW + timedelta(minutes=1))) == 1
    assert (await campaign(sessions, cid)).status == "running"


async def test_a_claim_that_gets_no_lease_is_given_back(
    sessions: Sessions, offline: PacerFactory
) -> None:
    cid = await insert_campaign(sessions)
    first, second = await pending(sessions, cid, range(2))
    due = [Due(c, cid, phone_of(n), "pending") for n, c in enumerate((first, second))]
    async with offline(Clock(NOW)) as ctx:
        # the campaign's limit fell to 1 between reading free slots and claiming
        leased = await Pacer(resources_of(ctx))._claim(due, {cid: 1}, NOW)
    assert [a.contact_id for a in await attempts(sessions)] == [first]
    assert len(leased) == 1
    assert ((await contact(sessions, second)).status, (await contact(sessions, first)).status) == (
        "pending",
        "dialing",
    )


async def test_one_leader_at_a_time_and_a_dead_one_is_replaced(redis_client: Redis) -> None:
    a = Leadership(redis_client, seconds=0.3)
    b = Leadership(redis_client, seconds=0.3)
    assert await a.hold()
    assert not await b.hold()
    assert await a.hold()  # renewed by its owner
    await asyncio.sleep(0.4)  # a stops renewing, as a killed process would
    assert await b.hold()
    assert not await a.hold()
    await b.resign()
    assert await a.hold()
