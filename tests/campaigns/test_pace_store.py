from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import pace as pace_db
from campaigns.db import write_transaction
from campaigns.tables import Attempt, Contact
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import make_campaign

pytestmark = pytest.mark.any_db

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
"""A Wednesday: 16:00 in Moscow, 23:00 in Vladivostok."""

Sessions = async_sessionmaker[AsyncSession]


async def set_contacts(sessions: Sessions, ids: list[int], **values: object) -> None:
    async with write_transaction(sessions) as session:
        await session.execute(update(Contact).where(Contact.id.in_(ids)).values(**values))


async def waiting(
    sessions: Sessions, campaign_id: int, numbers: range, **fields: object
) -> list[int]:
    return await insert_contacts(sessions, campaign_id, numbers, **({"status": "pending"} | fields))


async def due(sessions: Sessions, campaign_id: int, zones: list[str], limit: int) -> list[int]:
    async with sessions() as session:
        found = await pace_db.due_contacts(session, campaign_id, zones, NOW, limit)
    return [d.contact_id for d in found]


@pytest.mark.parametrize(
    ("zones", "open_at_now"),
    [
        (["Europe/Moscow", "Asia/Vladivostok"], ["Europe/Moscow"]),
        (
            ["Europe/Kaliningrad", "Asia/Yekaterinburg"],
            ["Asia/Yekaterinburg", "Europe/Kaliningrad"],
        ),
        (["Asia/Kamchatka"], []),
        ([], []),
    ],
)
def test_open_zones_follow_the_callee_local_time(zones: list[str], open_at_now: list[str]) -> None:
    assert pace_db.open_zones(make_campaign(window={}), zones, NOW) == open_at_now


async def test_due_takes_redials_first_then_new_contacts(sessions: Sessions) -> None:
    cid = await insert_campaign(sessions, status="running")
    new = await waiting(sessions, cid, range(3))
    redials = await waiting(sessions, cid, range(10, 13))
    await set_contacts(sessions, redials[:1], status="scheduled", next_attempt_at=NOW)
    await set_contacts(
        sessions, redials[1:2], status="scheduled", next_attempt_at=NOW - timedelta(1)
    )
    await set_contacts(
        sessions, redials[2:], status="scheduled", next_attempt_at=NOW + timedelta(1)
    )
    assert await due(sessions, cid, ["Europe/Moscow"], 10) == [redials[1], redials[0], *new]
    assert await due(sessions, cid, ["Europe/Moscow"], 2) == [redials[1], redials[0]]


async def test_due_skips_closed_zones_done_and_dialing(sessions: Sessions) -> None:
    cid = await insert_campaign(sessions, status="running")
    moscow = await waiting(sessions, cid, range(2))
    far = await waiting(sessions, cid, range(5, 7), timezone="Asia/Vladivostok")
    await set_contacts(sessions, moscow[1:], status="dialing")
    other = await insert_campaign(sessions, status="running", name="other")
    await waiting(sessions, other, range(2))
    assert await due(sessions, cid, ["Europe/Moscow"], 10) == moscow[:1]
    assert await due(sessions, cid, ["Asia/Vladivostok"], 10) == far
    assert await due(sessions, cid, [], 10) == []
    async with sessions() as session:
        assert await pace_db.contact_zones(session, cid) == ["Asia/Vladivostok", "Europe/Moscow"]


async def test_claim_moves_contacts_and_inserts_claimed_attempts(sessions: Sessions) -> None:
    cid = await insert_campaign(sessions, status="running")
    ids = await waiting(sessions, cid, range(3))
    async with sessions() as session:
        found = await pace_db.due_contacts(session, cid, ["Europe/Moscow"], NOW, 3)
    await set_contacts(sessions, ids[2:], status="done", outcome="cancelled")  # meanwhile
    async with write_transaction(sessions) as session:
        claimed = await pace_db.claim(session, found, NOW)
    assert [c.contact_id for c in claimed] == ids[:2]
    async with sessions() as session:
        attempts = (await session.scalars(select(Attempt).order_by(Attempt.id))).all()
        statuses = (await session.scalars(select(Contact.status).order_by(Contact.id))).all()
        assert await pace_db.unsent(session) == 2
    assert [(a.id, a.state, a.phone, a.claimed_at) for a in attempts] == [
        (c.attempt_id, "claimed", f"7910{n:07d}", NOW) for n, c in enumerate(claimed)
    ]
    assert statuses == ["dialing", "dialing", "done"]


async def test_a_contact_is_claimed_once_by_two_pacers(sessions: Sessions) -> None:
    cid = await insert_campaign(sessions, status="running")
    await waiting(sessions, cid, range(2))
    async with sessions() as session:
        found = await pace_db.due_contacts(session, cid, ["Europe/Moscow"], NOW, 2)
    async with write_transaction(sessions) as session:
        first = await pace_db.claim(session, found, NOW)
    async with write_transaction(sessions) as session:
        second = await pace_db.claim(session, found, NOW)
    assert (len(first), second) == (2, [])


async def test_released_claims_return_to_their_status(sessions: Sessions) -> None:
    cid = await insert_campaign(sessions, status="running")
    ids = await waiting(sessions, cid, range(2))
    await set_contacts(sessions, ids[1:], status="scheduled", next_attempt_at=NOW)
    async with sessions() as session:
        found = await pace_db.due_contacts(session, cid, ["Europe/Moscow"], NOW, 2)
    async with write_transaction(sessions) as session:
        claimed = await pace_db.claim(session, found, NOW)
        await pace_db.release_claims(session, claimed, {d.contact_id: d.status for d in found})
    async with sessions() as session:
        rows = (await session.execute(select(Contact.id, Contact.status))).all()
        assert await pace_db.unsent(session) == 0
    assert sorted(rows) == [(ids[0], "pending"), (ids[1], "scheduled")]


async def test_unsent_counts_claims_and_requests_not_yet_sent(sessions: Sessions) -> None:
    cid = await insert_campaign(sessions, status="running")
    await waiting(sessions, cid, range(4))
    async with sessions() as session:
        found = await pace_db.due_contacts(session, cid, ["Europe/Moscow"], NOW, 4)
    async with write_transaction(sessions) as session:
        a, b, c, _ = await pace_db.claim(session, found, NOW)
        for item, values in (
            (a, {"state": "sending"}),
            (b, {"state": "sending", "sent_at": NOW}),
            (c, {"state": "accepted", "sent_at": NOW}),
        ):
            await session.execute(
                update(Attempt).where(Attempt.id == item.attempt_id).values(**values)
            )
    async with sessions() as session:
        assert await pace_db.unsent(session) == 2


async def test_pacing_leaves_out_ended_and_idle_campaigns(sessions: Sessions) -> None:
    running = await insert_campaign(sessions, status="running")
    await insert_campaign(sessions, status="running", end_at=NOW)
    await insert_campaign(sessions, status="paused")
    later = await insert_campaign(sessions, status="running", end_at=NOW + timedelta(hours=1))
    async with sessions() as session:
        found = await pace_db.pacing_campaigns(session, NOW)
    assert [c.id for c in found] == [running, later]
