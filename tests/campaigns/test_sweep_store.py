from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import sweep as sweep_db
from campaigns.db import write_transaction
from campaigns.tables import Attempt, Campaign, Contact
from dialer.telecom.redial import RedialPolicy
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import insert_call

pytestmark = pytest.mark.any_db

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
LEASE = 60.0
TIMEOUT = 600.0
BASE = RedialPolicy()

Sessions = async_sessionmaker[AsyncSession]


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


async def call(sessions: Sessions, **attempt: Any) -> Attempt:
    return await insert_call(sessions, **({"claimed_at": ago(5), "sent_at": None} | attempt))


async def state_of(sessions: Sessions, attempt: Attempt) -> tuple[Attempt, Contact]:
    async with sessions() as session:
        row = await session.get_one(Attempt, attempt.id)
        return row, await session.get_one(Contact, attempt.contact_id)


async def test_claims_never_sent_within_the_lease_are_taken_back(sessions: Sessions) -> None:
    old_claim = await call(sessions, state="claimed", claimed_at=ago(LEASE + 1))
    old_unsent = await call(sessions, state="sending", claimed_at=ago(LEASE + 1))
    young = await call(sessions, state="claimed", claimed_at=ago(LEASE - 1))
    sent = await call(sessions, state="sending", claimed_at=ago(LEASE + 1), sent_at=ago(1))
    async with write_transaction(sessions) as session:
        leases = await sweep_db.abandon_claims(session, NOW, LEASE)
    assert sorted(leases) == sorted((a.id, a.campaign_id) for a in (old_claim, old_unsent))
    for attempt in (old_claim, old_unsent):
        row, contact = await state_of(sessions, attempt)
        assert (row.state, row.error) == ("rejected", sweep_db.ABANDONED)
        assert (contact.status, contact.next_attempt_at, contact.attempts) == ("scheduled", NOW, 0)
    for attempt, state in ((young, "claimed"), (sent, "sending")):
        row, contact = await state_of(sessions, attempt)
        assert (row.state, contact.status) == (state, "dialing")


async def test_an_abandoned_claim_of_a_cancelled_campaign_is_cancelled(sessions: Sessions) -> None:
    attempt = await call(
        sessions, state="claimed", claimed_at=ago(LEASE + 1), campaign={"status": "cancelled"}
    )
    async with write_transaction(sessions) as session:
        await sweep_db.abandon_claims(session, NOW, LEASE)
    _, contact = await state_of(sessions, attempt)
    assert (contact.status, contact.outcome) == ("done", "cancelled")


async def test_a_request_sent_with_no_answer_recorded_becomes_unknown(sessions: Sessions) -> None:
    stale = await call(sessions, state="sending", sent_at=ago(LEASE + 1))
    fresh = await call(sessions, state="sending", sent_at=ago(LEASE - 1))
    async with write_transaction(sessions) as session:
        assert await sweep_db.stale_sending(session, NOW, LEASE) == 1
    assert (await state_of(sessions, stale))[0].state == "unknown"
    assert (await state_of(sessions, fresh))[0].state == "sending"


async def test_live_calls_past_the_timeout_are_overdue(sessions: Sessions) -> None:
    overdue = [
        await call(sessions, state=state, sent_at=ago(TIMEOUT + 1), call_id="c1")
        for state in ("accepted", "originated", "unknown")
    ]
    await call(sessions, state="accepted", sent_at=ago(TIMEOUT - 1))
    await call(sessions, state="finished", sent_at=ago(TIMEOUT + 1))
    await call(sessions, state="lost", sent_at=ago(TIMEOUT + 1))
    async with sessions() as session:
        found = await sweep_db.overdue(session, NOW, TIMEOUT)
    assert [(o.attempt_id, o.call_id, o.sent_at) for o in found] == [
        (a.id, "c1", ago(TIMEOUT + 1)) for a in overdue
    ]


async def test_a_lost_call_is_redialed_as_unanswered(sessions: Sessions) -> None:
    lost = await call(sessions, state="accepted", sent_at=ago(TIMEOUT + 1))
    finished = await call(sessions, state="finished", sent_at=ago(TIMEOUT + 1))
    async with write_transaction(sessions) as session:
        leases = await sweep_db.lose(session, [lost.id, finished.id], base=BASE, now=NOW)
    assert leases == [(lost.id, lost.campaign_id)]
    row, contact = await state_of(sessions, lost)
    assert (row.state, row.category, row.cause) == ("lost", "no_answer", None)
    assert (contact.status, contact.next_attempt_at) == ("scheduled", NOW + timedelta(hours=2))
    assert (contact.attempts, contact.history, contact.last_call_at) == (1, "no_answer", NOW)
    assert (await state_of(sessions, finished))[0].state == "finished"


async def test_the_last_lost_call_ends_the_contact_as_unknown(sessions: Sessions) -> None:
    lost = await call(
        sessions,
        state="unknown",
        sent_at=ago(TIMEOUT + 1),
        contact={"attempts": 2, "history": "no_answer,no_answer"},
    )
    async with write_transaction(sessions) as session:
        await sweep_db.lose(session, [lost.id], base=BASE, now=NOW)
    _, contact = await state_of(sessions, lost)
    assert (contact.status, contact.outcome, contact.attempts) == ("done", "unknown", 3)


async def campaigns_by_id(sessions: Sessions) -> dict[int, Campaign]:
    async with sessions() as session:
        return {c.id: c for c in (await session.scalars(select(Campaign))).all()}


async def contact_outcomes(sessions: Sessions, campaign_id: int) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        found = await session.execute(
            select(Contact.status, Contact.outcome)
            .where(Contact.campaign_id == campaign_id)
            .order_by(Contact.id)
        )
        return [(status, outcome) for status, outcome in found.all()]


async def test_campaigns_past_their_end_expire_then_complete(sessions: Sessions) -> None:
    ended = await insert_campaign(sessions, end_at=NOW)
    await insert_contacts(sessions, ended, [1], status="pending")
    await insert_contacts(sessions, ended, [2], status="scheduled", next_attempt_at=NOW)
    dialing = await insert_campaign(sessions, status="paused", end_at=ago(1))
    await insert_contacts(sessions, dialing, [1], status="dialing")
    await insert_contacts(sessions, dialing, [2], status="pending")
    going = await insert_campaign(sessions, end_at=NOW + timedelta(seconds=1))
    await insert_contacts(sessions, going, [1], status="pending")
    async with write_transaction(sessions) as session:
        assert await sweep_db.expire_ended(session, NOW) == [ended]
    assert await contact_outcomes(sessions, ended) == [("done", "expired")] * 2
    assert await contact_outcomes(sessions, dialing) == [("dialing", None), ("done", "expired")]
    assert await contact_outcomes(sessions, going) == [("pending", None)]
    found = await campaigns_by_id(sessions)
    assert (found[ended].status, found[ended].finished_at) == ("completed", NOW)
    assert found[ended].status_reason == "end_at passed"
    assert (found[dialing].status, found[going].status) == ("paused", "running")


async def test_running_campaigns_with_every_contact_done_complete(sessions: Sessions) -> None:
    done = await insert_campaign(sessions)
    await insert_contacts(sessions, done, [1, 2], status="done", outcome="listened")
    busy = {}
    for status in ("pending", "scheduled", "dialing"):
        busy[status] = await insert_campaign(sessions)
        await insert_contacts(sessions, busy[status], [1], status="done")
        await insert_contacts(sessions, busy[status], [2], status=status)
    empty = await insert_campaign(sessions)
    paused = await insert_campaign(sessions, status="paused")
    await insert_contacts(sessions, paused, [1], status="done")
    async with write_transaction(sessions) as session:
        assert await sweep_db.complete_finished(session, NOW) == [done]
    found = await campaigns_by_id(sessions)
    assert (found[done].status, found[done].finished_at) == ("completed", NOW)
    assert {found[i].status for i in (*busy.values(), empty)} == {"running"}
    assert found[paused].status == "paused"


async def test_contacts_a_late_call_left_waiting_in_an_ended_campaign_close(
    sessions: Sessions,
) -> None:
    cancelled = await insert_campaign(sessions, status="cancelled", finished_at=ago(3600))
    await insert_contacts(sessions, cancelled, [1], status="scheduled", next_attempt_at=NOW)
    completed = await insert_campaign(sessions, status="completed", finished_at=ago(60))
    await insert_contacts(sessions, completed, [1], status="pending")
    long_ago = await insert_campaign(sessions, status="cancelled", finished_at=ago(2 * 86400))
    await insert_contacts(sessions, long_ago, [1], status="pending")
    async with write_transaction(sessions) as session:
        assert await sweep_db.close_orphans(session, NOW) == 2
    assert await contact_outcomes(sessions, cancelled) == [("done", "cancelled")]
    assert await contact_outcomes(sessions, completed) == [("done", "expired")]
    assert await contact_outcomes(sessions, long_ago) == [("pending", None)]
