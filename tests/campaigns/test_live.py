"""The live page's shared view: counted once, served while fresh, recounted in the background."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.dashboard import dashboard, day_bounds
from campaigns.db import write_transaction
from campaigns.errors import NotFound
from campaigns.idle import IdleCode
from campaigns.live import LivePages
from campaigns.tables import Contact
from dialer.limits import ConcurrencyLimiter, CpsLimiter
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import T0, make_attempt

Sessions = async_sessionmaker[AsyncSession]
SECOND = timedelta(seconds=1)


async def finish_all(sessions: Sessions, campaign_id: int) -> None:
    async with write_transaction(sessions) as session:
        await session.execute(
            update(Contact)
            .where(Contact.campaign_id == campaign_id)
            .values(status="done", outcome="listened")
        )


@pytest.mark.any_db
async def test_view_is_served_while_fresh_then_recounted_once(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, status="paused", started_at=T0)
    await insert_contacts(sessions, campaign_id, [1, 2], status="pending")
    pages = LivePages(sessions, max_age=5)

    first = await pages.view(campaign_id, now=T0)
    await finish_all(sessions, campaign_id)
    fresh = await pages.view(campaign_id, now=T0 + 4 * SECOND)
    stale = await pages.view(campaign_id, now=T0 + 5 * SECOND)
    await pages.settled()
    recounted = await pages.view(campaign_id, now=T0 + 6 * SECOND)

    assert (first.figures.done, first.idle is not None and first.idle.code) == (
        0,
        IdleCode.PAUSED_BY_USER,
    )
    assert fresh is first
    assert stale is first
    assert (recounted.at, recounted.figures.done) == (T0 + 5 * SECOND, 2)
    assert len(recounted.timeline) == 1


@pytest.mark.any_db
async def test_view_of_a_missing_campaign(sessions: Sessions) -> None:
    with pytest.raises(NotFound):
        await LivePages(sessions, max_age=5).view(404, now=T0)


async def test_views_beyond_capacity_are_forgotten(sessions: Sessions) -> None:
    first, second = await insert_campaign(sessions), await insert_campaign(sessions)
    pages = LivePages(sessions, max_age=5, capacity=1)
    kept = await pages.view(first, now=T0)
    await pages.view(second, now=T0)

    assert await pages.view(first, now=T0) is not kept


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("Europe/Moscow", T0.replace(hour=0) - 3 * 3600 * SECOND, T0.replace(hour=21)),
        ("UTC", T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1)),
        ("Asia/Vladivostok", T0.replace(day=24, hour=14), T0.replace(hour=14)),
    ],
)
def test_day_bounds(zone: str, start: object, end: object) -> None:
    assert day_bounds(T0, zone) == (start, end)


async def test_dashboard_reads_limits_in_use_and_today(
    sessions: Sessions, redis_client: Redis
) -> None:
    running = await insert_campaign(sessions, status="running")
    await insert_campaign(sessions, status="completed")
    paused = await insert_campaign(sessions, status="paused")
    [contact_id] = await insert_contacts(sessions, running, [1])
    async with write_transaction(sessions) as session:
        for claimed, category in [
            (T0, "listened"),
            (T0, "busy"),
            (T0 - timedelta(hours=9), None),  # 03:00 today in Moscow
            (T0 - timedelta(hours=13), "listened"),  # 23:00 yesterday in Moscow
        ]:
            session.add(
                make_attempt(
                    contact_id=contact_id,
                    campaign_id=running,
                    claimed_at=claimed,
                    category=category,
                )
            )
    limiter = ConcurrencyLimiter(redis_client, lease_seconds=60)
    for attempt in ("1", "2", "3"):
        assert await limiter.acquire(attempt, [limiter.global_scope(50)])
    cps = CpsLimiter(redis_client, rate=10)
    for _ in range(4):
        await cps.admit()

    async with sessions() as session:
        found = await dashboard(
            session, redis_client, now=T0, zone="Europe/Moscow", max_concurrent=50, cps=10
        )

    assert [c.id for c in found.active] == [paused, running]
    assert (found.calls_in_progress, found.concurrency_limit) == (3, 50)
    assert (found.cps_in_use, found.cps_limit) == (4, 10)
    assert (found.calls_today, found.answers_today) == (3, 1)


async def test_a_slow_count_is_kept_longer(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    ticks = iter([100.0, 102.0, 200.0, 200.0])  # the first count takes 2 s: kept for 20 s
    pages = LivePages(sessions, max_age=5, timer=lambda: next(ticks))
    first = await pages.view(campaign_id, now=T0)

    held = await pages.view(campaign_id, now=T0 + 19 * SECOND)
    await pages.view(campaign_id, now=T0 + 20 * SECOND)
    await pages.settled()

    assert first.took == 2.0
    assert held is first
    assert (await pages.view(campaign_id, now=T0 + 21 * SECOND)).at == T0 + 20 * SECOND
