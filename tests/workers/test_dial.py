"""The dial job against the simulator over loopback: every answer path of sb-api."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import dnc
from campaigns.db import write_transaction
from campaigns.states import DncSource
from campaigns.tables import Attempt, Campaign, Contact
from dialer.simulator.validation import A_NUMBER_ERROR, B_NUMBER_ERROR
from dialer.telecom.limiters import ConcurrencyLimiter
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of
from tests.dialer.simulator.harness import Rig
from tests.workers.conftest import WorkerFactory
from tests.workers.support import NOW, Clock, resources_of
from workers.dial import MARK_LEAD, dial
from workers.pace import Pacer

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Claimed:
    attempt_id: int
    contact_id: int
    campaign_id: int


async def claim_one(
    sessions: Sessions,
    ctx: dict[str, Any],
    *,
    campaign: dict[str, Any] | None = None,
    phone: str | None = None,
    **contact: Any,
) -> Claimed:
    """One contact of a new campaign, claimed (and leased) by a pacer tick."""
    campaign_id = await insert_campaign(sessions, **(campaign or {}))
    (contact_id,) = await insert_contacts(sessions, campaign_id, [1], status="pending", **contact)
    if phone is not None:  # a number the importer would never have let in
        async with write_transaction(sessions) as session:
            (await session.get_one(Contact, contact_id)).phone = phone
    (attempt_id,) = await Pacer(resources_of(ctx)).tick(NOW)
    return Claimed(attempt_id, contact_id, campaign_id)


async def rows(sessions: Sessions, claimed: Claimed) -> tuple[Attempt, Contact, Campaign]:
    async with sessions() as session:
        return (
            await session.get_one(Attempt, claimed.attempt_id),
            await session.get_one(Contact, claimed.contact_id),
            await session.get_one(Campaign, claimed.campaign_id),
        )


async def leased(ctx: dict[str, Any], claimed: Claimed) -> bool:
    holders = await resources_of(ctx).concurrency.holders(ConcurrencyLimiter.global_scope(0))
    return str(claimed.attempt_id) in holders


async def requests_for(rig: Rig, claimed: Claimed) -> int:
    return rig.sim.state.per_mess_id[str(claimed.attempt_id)]


async def test_an_accepted_call_keeps_its_lease_for_the_final_event(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(Clock(NOW)) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        result = await dial(ctx, claimed.attempt_id)
        (call,) = await rig.calls()
        assert await leased(ctx, claimed)
    attempt, contact, _ = await rows(sessions, claimed)
    assert result == f"accepted: {call['call_id']}"
    assert (attempt.state, attempt.call_id, attempt.sent_at) == ("accepted", call["call_id"], NOW)
    assert (call["mess_id"], call["b_number"], call["text"]) == (
        str(claimed.attempt_id),
        phone_of(1),
        "Здравствуйте, Анна! Ваш заказ готов.",
    )
    assert contact.status == "dialing"


async def test_two_jobs_for_one_attempt_send_one_request(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(Clock(NOW)) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        results = await asyncio.gather(*(dial(ctx, claimed.attempt_id) for _ in range(3)))
        assert await requests_for(rig, claimed) == 1
    assert sorted(r.split(":")[0] for r in results) == ["accepted", "not claimed", "not claimed"]


async def test_a_number_on_the_dnc_list_is_not_called(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(Clock(NOW)) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        async with write_transaction(sessions) as session:
            await session.run_sync(dnc.add, phone_of(1), source=DncSource.DTMF, now=NOW)
        assert await dial(ctx, claimed.attempt_id) == "rejected: do-not-call"
        assert await requests_for(rig, claimed) == 0
        assert not await leased(ctx, claimed)
    _, contact, _ = await rows(sessions, claimed)
    assert (contact.status, contact.outcome) == ("done", "dnc")


async def test_the_daily_cap_stops_the_call_before_sb_api(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(Clock(NOW), settings={"daily_answered_cap": 1}) as (ctx, rig):
        first = await claim_one(sessions, ctx)
        async with write_transaction(sessions) as session:
            attempt = await session.get_one(Attempt, first.attempt_id)
            attempt.state, attempt.category, attempt.finished_at = "finished", "listened", NOW
            (await session.get_one(Contact, first.contact_id)).status = "done"
        second = await claim_one(sessions, ctx, campaign={"name": "second"})
        assert await dial(ctx, second.attempt_id) == "rejected: frequency cap"
        assert await requests_for(rig, second) == 0
        assert not await leased(ctx, second)
    _, contact, _ = await rows(sessions, second)
    assert contact.status == "scheduled"
    assert contact.next_attempt_at is not None
    assert contact.next_attempt_at > NOW


@pytest.mark.parametrize(
    ("setup", "outcome", "error"),
    [
        ({"contact": {"phone": "7910123456"}}, "invalid_number", B_NUMBER_ERROR),
        ({"campaign": {"a_number": "7495"}}, "failed", A_NUMBER_ERROR),
    ],
)
async def test_a_refused_number_settles_the_contact(
    sessions: Sessions,
    worker: WorkerFactory,
    setup: dict[str, dict[str, Any]],
    outcome: str,
    error: str,
) -> None:
    async with worker(Clock(NOW)) as (ctx, rig):
        claimed = await claim_one(
            sessions, ctx, campaign=setup.get("campaign"), **setup.get("contact", {})
        )
        result = await dial(ctx, claimed.attempt_id)
        assert await requests_for(rig, claimed) == 1
        assert not await leased(ctx, claimed)
    attempt, contact, _ = await rows(sessions, claimed)
    assert result.startswith("rejected")
    assert (attempt.state, attempt.error) == ("rejected", error)
    assert (contact.status, contact.outcome) == ("done", outcome)


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"sip_id": "70000000001"}, "sb-api refused the account: Forbidden"),
        ({"sb_method": "not-issued"}, "sb-api refused the account: access forbidden"),
        (
            {"sb_password": "wrong"},
            'sb-api refused the account: HTTP 401: {"message":"unauthorized"}',
        ),
    ],
)
async def test_an_account_error_pauses_the_campaign(
    sessions: Sessions, worker: WorkerFactory, settings: dict[str, Any], reason: str
) -> None:
    async with worker(Clock(NOW), settings=settings) as (ctx, _):
        claimed = await claim_one(sessions, ctx)
        await dial(ctx, claimed.attempt_id)
        assert not await leased(ctx, claimed)
    attempt, contact, campaign = await rows(sessions, claimed)
    assert (campaign.status, campaign.status_reason) == ("paused", reason)
    assert (attempt.state, contact.status, contact.attempts) == ("rejected", "pending", 0)


async def test_5xx_means_not_sent_and_the_contact_is_tried_again(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(Clock(NOW), error_rate=1.0) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        result = await dial(ctx, claimed.attempt_id)
        assert await rig.calls() == []
        assert not await leased(ctx, claimed)
    attempt, contact, _ = await rows(sessions, claimed)
    assert result.startswith("not sent")
    assert attempt.state == "rejected"
    assert (attempt.error or "").startswith("not sent: sb-api")
    assert (contact.status, contact.attempts) == ("scheduled", 0)
    assert contact.next_attempt_at is not None
    assert contact.next_attempt_at > NOW


async def test_a_timeout_after_sending_is_unknown_and_never_resent(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(
        Clock(NOW), settings={"sb_timeout": 0.3}, timeout_rate=1.0, timeout_delay=5.0
    ) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        result = await dial(ctx, claimed.attempt_id)
        assert await dial(ctx, claimed.attempt_id) == "not claimed: another job owns it"
        assert await requests_for(rig, claimed) == 1
        assert await leased(ctx, claimed)  # the call may be ringing
    attempt, contact, _ = await rows(sessions, claimed)
    assert result.startswith("unknown")
    assert (attempt.state, contact.status) == ("unknown", "dialing")
    assert "outcome unknown" in (attempt.error or "")


async def test_a_job_cancelled_while_sending_leaves_the_attempt_unknown(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(Clock(NOW), latency=5.0) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        job = asyncio.create_task(dial(ctx, claimed.attempt_id))
        await asyncio.sleep(1.0)  # the request is out, its answer held for five seconds
        assert await requests_for(rig, claimed) == 1
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        assert await leased(ctx, claimed)
    attempt, contact, _ = await rows(sessions, claimed)
    assert (attempt.state, contact.status) == ("unknown", "dialing")


SLOT_AHEAD = 2.05
"""Seconds to the next CPS slot at 0.5 calls/s once one slot is taken: 2 s plus the jitter."""


async def test_a_call_is_marked_sent_just_before_its_slot_and_sent_at_it(
    sessions: Sessions, worker: WorkerFactory
) -> None:
    async with worker(Clock(NOW), settings={"cps": 0.5}) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        await resources_of(ctx).cps.acquire()
        job = asyncio.create_task(dial(ctx, claimed.attempt_id))
        await asyncio.sleep(SLOT_AHEAD - MARK_LEAD + 0.2)
        attempt, _, _ = await rows(sessions, claimed)
        assert attempt.sent_at is not None
        slot = NOW + timedelta(seconds=MARK_LEAD)  # the clock stands still; the slot is ahead
        assert abs(attempt.sent_at - slot) < timedelta(seconds=0.05)
        assert await requests_for(rig, claimed) == 0
        assert (await job).startswith("accepted")
        assert await requests_for(rig, claimed) == 1


@pytest.mark.parametrize(
    "cancelled_at", [0.3, SLOT_AHEAD - MARK_LEAD + 0.2], ids=["before the mark", "after the mark"]
)
async def test_a_job_cancelled_before_sending_gives_the_contact_back(
    sessions: Sessions, worker: WorkerFactory, cancelled_at: float
) -> None:
    async with worker(Clock(NOW), settings={"cps": 0.5}) as (ctx, rig):
        claimed = await claim_one(sessions, ctx)
        await resources_of(ctx).cps.acquire()
        job = asyncio.create_task(dial(ctx, claimed.attempt_id))
        await asyncio.sleep(cancelled_at)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        assert await requests_for(rig, claimed) == 0
        assert not await leased(ctx, claimed)
    attempt, contact, _ = await rows(sessions, claimed)
    assert (attempt.state, attempt.sent_at, attempt.error) == (
        "rejected",
        None,
        "not sent: the dial job was cancelled before sending",
    )
    assert contact.status == "scheduled"
