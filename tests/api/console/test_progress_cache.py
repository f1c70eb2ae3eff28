"""The list's progress figures are at most TTL seconds old, and exact after `forget`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.console.progress_cache import ProgressCache
from tests.db_fixtures import insert_campaign, insert_contacts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_figures_are_reused_within_the_ttl_then_counted_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    cache = ProgressCache(ttl=2.0, clock=clock)
    campaign = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign, [1, 2], status="pending")

    async def total() -> int:
        async with sessions() as session:
            return (await cache.get(session, [campaign]))[campaign].total

    assert await total() == 2
    await insert_contacts(sessions, campaign, [3], status="pending")
    clock.now += 2.0
    assert await total() == 2  # still within the TTL
    clock.now += 0.1
    assert await total() == 3
    await insert_contacts(sessions, campaign, [4], status="pending")
    cache.forget(campaign)
    assert await total() == 4
