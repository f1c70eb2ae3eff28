"""The sweep jobs with their real parts: leases in Redis, MTT's call history from the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.db import write_transaction
from campaigns.tables import Attempt, Contact, Event
from dialer.telecom.events import parse_body
from dialer.telecom.limiters import ConcurrencyLimiter
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of
from tests.workers.conftest import PacerFactory, WorkerFactory
from tests.workers.support import NOW, Clock, campaign, resources_of
from workers.dial import dial
from workers.pace import Pacer
from workers.sweep import retry_events, sweep

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
BUSY = {"numbers": {phone_of(1): ["busy"]}}


async def claim(sessions: Sessions, ctx: dict[str, Any], now: datetime) -> tuple[int, int]:
    """A new campaign's one contact claimed by a pacer tick: (attempt id, contact id)."""
    campaign_id = await insert_campaign(sessions)
    (contact_id,) = await insert_contacts(sessions, campaign_id, [1], status="pending")
    (attempt_id,) = await Pacer(resources_of(ctx)).tick(now)
    return attempt_id, contact_id


async def rows(sessions: Sessions, attempt_id: int, contact_id: int) -> tuple[Attempt, Contact]:
    async with sessions() as session:
        return (
            await session.get_one(Attempt, attempt_id),
            await session.get_one(Contact, contact_id),
        )


async def lease_holders(ctx: dict[str, Any]) -> list[str]:
    scope = ConcurrencyLimiter.global_scope(0)
    return await resources_of(ctx).concurrency.holders(scope)


async def test_an_abandoned_claim_is_taken_back_and_its_lease_freed(
    sessions: Sessions, offline: PacerFactory
) -> None:
    clock = Clock(NOW)
    async with offline(clock, claim_lease=60.0) as ctx:
        attempt_id, contact_id = await claim(sessions, ctx, NOW)
        assert (await sweep(ctx))["abandoned"] == 0
        clock.advance(61)
        assert (await sweep(ctx))["abandoned"] == 1
        assert await lease_holders(ctx) == []
        assert await dial(ctx, attempt_id) == "not claimed: another job owns it"
    attempt, contact = await rows(sessions, attempt_id, contact_id)
    assert (attempt.state, contact.status, contact.next_attempt_at) == (
        "rejected",
        "scheduled",
        clock.now,
    )


async def test_a_call_without_final_event_is_lost_and_redialed(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    clock = Clock(NOW)
    async with worker(clock, rules=BUSY) as (ctx, _):
        attempt_id, contact_id = await claim(sessions, ctx, NOW)
        assert (await dial(ctx, attempt_id)).startswith("accepted")
        clock.advance(resources_of(ctx).settings.final_event_timeout + 1)
        done = await sweep(ctx)
        assert await lease_holders(ctx) == []
    assert (done["lost"], done["reconciled"]) == (1, 0)
    attempt, contact = await rows(sessions, attempt_id, contact_id)
    assert (attempt.state, attempt.category) == ("lost", "no_answer")
    assert (contact.status, contact.history) == ("scheduled", "no_answer")
    assert contact.next_attempt_at == clock.now + timedelta(hours=2)


async def test_an_overdue_call_is_reconciled_from_mtt_call_history(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    clock = Clock(datetime.now(UTC))  # the simulator's history is dated in real time
    async with worker(clock, rpc=True, rules=BUSY) as (ctx, rig):
        resources = resources_of(ctx)
        attempt_id, contact_id = await claim(sessions, ctx, clock.now)
        await dial(ctx, attempt_id)
        await rig.calls()  # the simulated call has ended; its events went elsewhere
        clock.advance(resources.settings.final_event_timeout + 1)
        done = await sweep(ctx)
        assert await lease_holders(ctx) == []
    assert (done["reconciled"], done["lost"]) == (1, 0)
    attempt, contact = await rows(sessions, attempt_id, contact_id)
    assert (attempt.state, attempt.cause, attempt.category) == ("finished", 17, "busy")
    assert (contact.status, contact.last_cause) == ("scheduled", 17)
    assert contact.next_attempt_at == clock.now + timedelta(minutes=15)
    async with sessions() as session:
        (event,) = (await session.scalars(select(Event))).all()
    assert event.parsed is not None
    assert (event.attempt_id, event.kind, event.parsed["source"]) == (
        attempt_id,
        "hangup",
        "getCallHistory",
    )


async def test_a_campaign_whose_contacts_are_all_done_completes(
    sessions: Sessions, offline: PacerFactory
) -> None:
    finished = await insert_campaign(sessions)
    await insert_contacts(sessions, finished, [1, 2], status="done", outcome="listened")
    starting = await insert_campaign(sessions, status="scheduled", start_at=NOW)
    await insert_contacts(sessions, starting, [1], status="pending")
    async with offline(Clock(NOW)) as ctx:
        done = await sweep(ctx)
    assert (done["completed"], done["started"]) == (1, 1)
    assert (
        (await campaign(sessions, finished)).status,
        (await campaign(sessions, starting)).status,
    ) == (
        "completed",
        "running",
    )


async def test_an_event_that_failed_to_apply_is_applied_again(
    sessions: Sessions, offline: PacerFactory
) -> None:
    async with offline(Clock(NOW)) as ctx:
        attempt_id, contact_id = await claim(sessions, ctx, NOW)
        async with write_transaction(sessions) as session:
            attempt = await session.get_one(Attempt, attempt_id)
            attempt.state, attempt.sent_at = "accepted", NOW
            fields = {"id": str(attempt_id), "event": f"h_{phone_of(1)}_16_9"}
            (hangup,) = parse_body(json.dumps(fields).encode(), "application/json", {}).events
            session.add(
                Event(
                    received_at=NOW,
                    body=json.dumps(fields),
                    kind="hangup",
                    dedup_key=hangup.dedup_key,
                    parsed=fields,
                    apply_error="OperationalError: database is locked",
                )
            )
        assert await retry_events(ctx) == 1
        assert await lease_holders(ctx) == []
    attempt, contact = await rows(sessions, attempt_id, contact_id)
    assert (attempt.state, contact.status, contact.outcome) == ("finished", "done", "listened")
