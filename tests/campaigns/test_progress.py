"""The campaign list's progress figures agree with the full statistics they stand in for."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.stats import Progress, progress_for, stats_for
from tests.db_fixtures import insert_campaign, insert_contacts

pytestmark = pytest.mark.any_db


async def test_progress_counts_contacts_finished_and_outcomes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    busy = await insert_campaign(sessions)
    empty = await insert_campaign(sessions)
    await insert_contacts(sessions, busy, [1, 2], status="pending")
    await insert_contacts(sessions, busy, [3], status="dialing")
    await insert_contacts(sessions, busy, [4, 5, 6], status="done", outcome="listened")
    await insert_contacts(sessions, busy, [7], status="done", outcome="busy")

    async with sessions() as session:
        progress = await progress_for(session, [busy, empty])
        full = await stats_for(session, [busy, empty])

    assert progress == {
        busy: Progress(total=7, done=4, by_outcome={"listened": 3, "busy": 1}),
        empty: Progress(total=0, done=0, by_outcome={}),
    }
    for campaign_id, figures in progress.items():
        assert figures.total == full[campaign_id].total
        assert figures.done == full[campaign_id].by_status["done"]
        assert figures.by_outcome == full[campaign_id].by_outcome
