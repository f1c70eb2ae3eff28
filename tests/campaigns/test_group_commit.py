from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from campaigns.db import write_transaction
from campaigns.group_commit import GroupCommit
from campaigns.tables import Campaign
from tests.factories import make_campaign

pytestmark = pytest.mark.any_db


@pytest.fixture
async def writes(engine: AsyncEngine) -> AsyncIterator[GroupCommit]:
    async with GroupCommit(engine).running() as writes:
        yield writes


def add_campaign(name: str) -> Callable[[Session], int]:
    def step(session: Session) -> int:
        campaign = make_campaign(name=name)
        session.add(campaign)
        session.flush()
        return campaign.id

    return step


def add_then_fail(name: str) -> Callable[[Session], int]:
    def step(session: Session) -> int:
        add_campaign(name)(session)
        raise ValueError(f"{name} refused")

    return step


@asynccontextmanager
async def campaigns_locked(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """Another connection keeps the writer's transaction waiting (on SQLite's write lock, on
    PostgreSQL's table lock) until the block ends; the event loop stays free meanwhile."""
    async with write_transaction(sessions) as session:
        connection = await session.connection()  # BEGIN IMMEDIATE on SQLite: the write lock
        if connection.dialect.name == "postgresql":
            await session.execute(text("LOCK TABLE campaign IN EXCLUSIVE MODE"))
        yield


async def names(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(Campaign.name).order_by(Campaign.name)))


async def test_steps_waiting_together_share_one_transaction(
    writes: GroupCommit, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await asyncio.gather(*(writes.run(add_campaign(f"c{i:02}")) for i in range(20)))

    assert len(set(ids)) == 20
    assert writes.stats.transactions == 1
    assert writes.stats.steps == 20
    assert await names(sessions) == [f"c{i:02}" for i in range(20)]


async def test_a_step_is_committed_when_its_caller_is_answered(
    writes: GroupCommit, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await writes.run(add_campaign("first"))
    assert await names(sessions) == ["first"]
    await writes.run(add_campaign("second"))
    assert await names(sessions) == ["first", "second"]
    assert writes.stats.transactions == 2


async def test_a_failing_step_undoes_only_itself(
    writes: GroupCommit, sessions: async_sessionmaker[AsyncSession]
) -> None:
    results = await asyncio.gather(
        writes.run(add_campaign("a")),
        writes.run(add_then_fail("b")),
        writes.run(add_campaign("c")),
        return_exceptions=True,
    )

    assert isinstance(results[0], int)
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "b refused"
    assert isinstance(results[2], int)
    assert writes.stats.transactions == 1
    assert await names(sessions) == ["a", "c"]


def rename(campaign_id: int, name: str) -> Callable[[Session], None]:
    """Changes a loaded object and leaves the flush to the group commit."""

    def step(session: Session) -> None:
        session.get_one(Campaign, campaign_id).name = name

    return step


async def test_a_step_after_a_failing_one_keeps_its_unflushed_changes(
    writes: GroupCommit, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await writes.run(add_campaign("a"))
    second = await writes.run(add_campaign("b"))

    steps = [rename(first, "renamed a"), add_then_fail("x"), rename(second, "renamed b")]
    results = await asyncio.gather(*(writes.run(step) for step in steps), return_exceptions=True)

    assert results[0] is None
    assert isinstance(results[1], ValueError)
    assert results[2] is None
    assert writes.stats.transactions == 3
    assert await names(sessions) == ["renamed a", "renamed b"]


async def test_steps_arriving_during_a_transaction_share_the_next(
    writes: GroupCommit, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with campaigns_locked(sessions):
        first = asyncio.create_task(writes.run(add_campaign("first")))
        await asyncio.sleep(0.05)  # the writer waits inside the first transaction now
        later = [asyncio.create_task(writes.run(add_campaign(f"later{i}"))) for i in range(5)]
        await asyncio.sleep(0.05)
    await asyncio.gather(first, *later)

    assert writes.stats.transactions == 2
    assert await names(sessions) == ["first"] + [f"later{i}" for i in range(5)]


async def test_a_step_whose_caller_left_before_its_turn_is_not_run(
    writes: GroupCommit, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with campaigns_locked(sessions):
        first = asyncio.create_task(writes.run(add_campaign("slow")))
        await asyncio.sleep(0.05)
        abandoned = asyncio.create_task(writes.run(add_campaign("abandoned")))
        await asyncio.sleep(0)
        abandoned.cancel()
    await first
    await writes.run(add_campaign("after"))

    assert abandoned.cancelled()
    assert await names(sessions) == ["after", "slow"]


async def test_closing_writes_what_is_queued_then_refuses(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    writes = GroupCommit(engine)
    writes.start()
    async with campaigns_locked(sessions):
        first = asyncio.create_task(writes.run(add_campaign("in flight")))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(writes.run(add_campaign("queued")))
        await asyncio.sleep(0)
        closing = asyncio.create_task(writes.close())
        await asyncio.sleep(0.05)
        assert not closing.done()
    await closing

    assert isinstance(await first, int)
    assert isinstance(await queued, int)
    assert await names(sessions) == ["in flight", "queued"]
    with pytest.raises(RuntimeError, match="not running"):
        await writes.run(add_campaign("late"))
    await writes.close()
