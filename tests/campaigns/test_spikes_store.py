"""The sweeper's network-spike step on a real database: found, paused once, not re-paused."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import store
from campaigns import sweep as sweep_db
from campaigns.db import write_transaction
from campaigns.spikes import SpikeRule
from campaigns.tables import Campaign
from dialer.telecom.causes import DEFAULT_CATEGORIES
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import T0, make_attempt

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
NOW = T0 + timedelta(hours=1)
RULE = SpikeRule(window=timedelta(seconds=300), min_calls=20, share=0.5)
REASON = "network failures: 20 of the last 20 calls (38 ×20); check MTT's route, then resume"


async def finished_calls(
    sessions: Sessions,
    campaign_id: int,
    count: int,
    *,
    cause: int = 38,
    ago: float = 10,
    first: int = 0,
) -> None:
    """`count` contacts of the campaign (numbered from `first`), each with one call that ended
    `ago` seconds before NOW."""
    numbers = range(first, first + count)
    contacts = await insert_contacts(
        sessions, campaign_id, numbers, status="scheduled", history="network"
    )
    at = NOW - timedelta(seconds=ago)
    async with write_transaction(sessions) as session:
        session.add_all(
            make_attempt(
                contact_id=contact_id,
                campaign_id=campaign_id,
                state="finished",
                finished_at=at,
                cause=cause,
                duration=0,
                category="network",
            )
            for contact_id in contacts
        )


async def sweep_spikes(sessions: Sessions) -> list[int]:
    """One sweep's step: the ids it paused."""
    async with sessions() as session:
        found = await sweep_db.network_spikes(session, NOW, RULE, DEFAULT_CATEGORIES)
    paused = []
    for spiked in found:
        async with write_transaction(sessions) as session:
            if await sweep_db.pause_spiked(session, spiked, NOW):
                paused.append(spiked.campaign_id)
    return paused


async def campaign_row(sessions: Sessions, campaign_id: int) -> Campaign:
    async with sessions() as session:
        return await session.get_one(Campaign, campaign_id)


async def test_twenty_network_failures_pause_the_campaign_once(sessions: Sessions) -> None:
    spiking = await insert_campaign(sessions)
    await finished_calls(sessions, spiking, 20)
    quiet = await insert_campaign(sessions)
    await finished_calls(sessions, quiet, 20, cause=16)
    assert await sweep_spikes(sessions) == [spiking]
    assert await sweep_spikes(sessions) == []
    row = await campaign_row(sessions, spiking)
    assert (row.status, row.status_reason, row.updated_at, row.network_pauses) == (
        "paused",
        REASON,
        NOW,
        1,
    )
    assert (await campaign_row(sessions, quiet)).status == "running"


@pytest.mark.parametrize(("count", "ago"), [(19, 10), (20, 301)])
async def test_too_few_recent_calls_leave_it_running(
    sessions: Sessions, count: int, ago: float
) -> None:
    campaign_id = await insert_campaign(sessions)
    await finished_calls(sessions, campaign_id, count, ago=ago)
    assert await sweep_spikes(sessions) == []
    row = await campaign_row(sessions, campaign_id)
    assert (row.status, row.status_reason, row.network_pauses) == ("running", None, 0)


async def test_two_sweepers_at_once_pause_it_once(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    await finished_calls(sessions, campaign_id, 20)
    first, second = await asyncio.gather(sweep_spikes(sessions), sweep_spikes(sessions))
    assert sorted(first + second) == [campaign_id]
    assert (await campaign_row(sessions, campaign_id)).network_pauses == 1


async def test_two_sweepers_that_saw_the_spike_pause_it_once(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    await finished_calls(sessions, campaign_id, 20)
    async with sessions() as session:
        (first,) = await sweep_db.network_spikes(session, NOW, RULE, DEFAULT_CATEGORIES)
        (second,) = await sweep_db.network_spikes(session, NOW, RULE, DEFAULT_CATEGORIES)
    async with write_transaction(sessions) as session:
        assert await sweep_db.pause_spiked(session, first, NOW)
    async with write_transaction(sessions) as session:
        await store.resume(session, campaign_id, now=NOW + timedelta(seconds=1))
    async with write_transaction(sessions) as session:
        assert not await sweep_db.pause_spiked(session, second, NOW + timedelta(seconds=2))
    row = await campaign_row(sessions, campaign_id)
    assert (row.status, row.status_reason, row.network_pauses) == ("running", None, 1)


async def test_a_resumed_campaign_is_not_paused_again_by_the_old_calls(
    sessions: Sessions,
) -> None:
    campaign_id = await insert_campaign(sessions)
    await finished_calls(sessions, campaign_id, 20, ago=60)
    async with write_transaction(sessions) as session:
        await store.pause(session, campaign_id, now=NOW - timedelta(seconds=50), reason=REASON)
    async with write_transaction(sessions) as session:
        await store.resume(session, campaign_id, now=NOW - timedelta(seconds=30))
    assert await sweep_spikes(sessions) == []
    assert (await campaign_row(sessions, campaign_id)).status == "running"
    await finished_calls(sessions, campaign_id, 20, ago=5, first=20)
    assert await sweep_spikes(sessions) == [campaign_id]
