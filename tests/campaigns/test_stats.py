from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.db import write_transaction
from campaigns.stats import CALLBACK_FAILED, CampaignStats, campaign_stats, stats_for
from campaigns.tables import Callback
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import T0

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]


def stats(
    *,
    by_status: dict[str, int] | None = None,
    by_outcome: dict[str, int] | None = None,
    attempts: int = 0,
    listened_seconds: int = 0,
    dtmf: dict[str, int] | None = None,
    callbacks_failed: int = 0,
) -> CampaignStats:
    """Expected statistics; `by_status` names only the statuses some contact has."""
    statuses = {"pending": 0, "scheduled": 0, "dialing": 0, "done": 0} | (by_status or {})
    return CampaignStats(
        total=sum(statuses.values()),
        by_status=statuses,
        by_outcome=by_outcome or {},
        attempts=attempts,
        listened_seconds=listened_seconds,
        dtmf=dtmf or {},
        callbacks_failed=callbacks_failed,
    )


async def add_callbacks(
    sessions: Sessions, campaign_id: int, contact_id: int, statuses: list[str]
) -> None:
    async with write_transaction(sessions) as session:
        session.add_all(
            Callback(
                campaign_id=campaign_id,
                contact_id=contact_id,
                dedup_key=f"{campaign_id}:{contact_id}:{index}",
                url="http://127.0.0.1:9/crm",
                payload={},
                status=status,
                created_at=T0,
            )
            for index, status in enumerate(statuses)
        )


async def test_campaign_without_contacts(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    async with sessions() as session:
        assert await campaign_stats(session, campaign_id) == stats()


async def test_counts_are_exact(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    other = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, [1, 2, 3], status="pending")
    await insert_contacts(sessions, campaign_id, [4], status="scheduled", attempts=1)
    await insert_contacts(sessions, campaign_id, [5], status="dialing", attempts=2)
    [listened, *_] = await insert_contacts(
        sessions,
        campaign_id,
        [6, 7],
        status="done",
        outcome="listened",
        attempts=1,
        listened_seconds=21,
        dtmf="1",
    )
    await insert_contacts(
        sessions,
        campaign_id,
        [8],
        status="done",
        outcome="listened",
        attempts=2,
        listened_seconds=9,
        dtmf="19",
    )
    await insert_contacts(sessions, campaign_id, [9], status="done", outcome="busy", attempts=3)
    await insert_contacts(sessions, campaign_id, [10], status="done", outcome="dnc")
    await add_callbacks(sessions, campaign_id, listened, ["sent", CALLBACK_FAILED, "failed"])
    [foreign] = await insert_contacts(
        sessions, other, [11], status="done", outcome="listened", listened_seconds=99, dtmf="3"
    )
    await add_callbacks(sessions, other, foreign, [CALLBACK_FAILED])

    async with sessions() as session:
        result = await campaign_stats(session, campaign_id)

    assert result == stats(
        by_status={"pending": 3, "scheduled": 1, "dialing": 1, "done": 5},
        by_outcome={"busy": 1, "dnc": 1, "listened": 3},
        attempts=1 + 2 + 1 + 1 + 2 + 3,
        listened_seconds=21 + 21 + 9,
        dtmf={"1": 3, "9": 1},
        callbacks_failed=2,
    )
    assert result.model_dump()["total"] == 10


async def test_stats_of_several_campaigns(sessions: Sessions) -> None:
    first = await insert_campaign(sessions)
    second = await insert_campaign(sessions)
    await insert_contacts(sessions, first, [1, 2], status="pending")
    await insert_contacts(sessions, second, [3], status="done", outcome="no_answer", attempts=3)

    async with sessions() as session:
        result = await stats_for(session, [second, first, second, 404])

    assert result == {
        second: stats(by_status={"done": 1}, by_outcome={"no_answer": 1}, attempts=3),
        first: stats(by_status={"pending": 2}),
        404: stats(),
    }


async def test_stats_of_no_campaigns(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await stats_for(session, []) == {}
