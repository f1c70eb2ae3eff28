"""The sweeper's database work (docs/design.md §5.5): nothing stays claimed, sending or live
forever,
and campaigns end when their contacts do.

Each step is one statement or a compare-and-set per row, so any number of worker processes may
sweep at once: a row another sweeper (or a late event, or the dial job) moved first is skipped.
Steps return the concurrency leases to release after the commit as (attempt id, campaign id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.contact_status import WAITING, close_waiting, reschedule, write_settlement
from campaigns.db import ensure_writing
from campaigns.outcomes import settle_lost
from campaigns.spikes import Finished, Spike, SpikeRule, network_spike
from campaigns.states import AttemptState, CampaignStatus, ContactStatus, Outcome, WaitingReason
from campaigns.tables import Attempt, Campaign, Contact
from dialer.telecom.causes import Category
from dialer.telecom.redial import RedialPolicy

__all__ = [
    "ABANDONED",
    "BATCH",
    "END_PASSED",
    "LIVE",
    "ORPHAN_HORIZON",
    "Overdue",
    "Spiked",
    "abandon_claims",
    "close_orphans",
    "complete_finished",
    "expire_ended",
    "lose",
    "network_spikes",
    "overdue",
    "pause_spiked",
    "stale_sending",
]

BATCH = 500
"""Rows one step handles per sweep; the next sweep takes the rest."""
ABANDONED = "abandoned before sending"
END_PASSED: Final = "end_at passed"
"""The reason of a campaign completed because its end_at passed."""
LIVE = (AttemptState.ACCEPTED, AttemptState.ORIGINATED, AttemptState.UNKNOWN)
"""States of a call that may still be ringing: waiting for its final event."""
ORPHAN_HORIZON = timedelta(days=1)
"""How long after a campaign ends its contacts may still be settled by late calls."""

Lease = tuple[int, int]


@dataclass(frozen=True)
class Overdue:
    """A live call whose final event has not come in time."""

    attempt_id: int
    campaign_id: int
    phone: str
    call_id: str | None
    sent_at: datetime


async def abandon_claims(session: AsyncSession, now: datetime, lease: float) -> list[Lease]:
    """Claims never sent within the lease: rejected, their contacts due again at once. The dial
    job's own compare-and-sets (claimed → sending, then marking it sent) make this safe while a
    slow job is still around: whichever moves the attempt first wins."""
    ensure_writing(session)
    cutoff = now - timedelta(seconds=lease)
    ids = select(Attempt.id).where(
        or_(
            Attempt.state == AttemptState.CLAIMED,
            and_(Attempt.state == AttemptState.SENDING, Attempt.sent_at.is_(None)),
        ),
        Attempt.claimed_at < cutoff,
    )
    taken = await session.execute(
        update(Attempt)
        .where(
            Attempt.id.in_(ids.limit(BATCH).scalar_subquery()),
            or_(
                Attempt.state == AttemptState.CLAIMED,
                and_(Attempt.state == AttemptState.SENDING, Attempt.sent_at.is_(None)),
            ),
        )
        .values(state=AttemptState.REJECTED, error=ABANDONED)
        .returning(Attempt.id, Attempt.contact_id, Attempt.campaign_id)
        .execution_options(synchronize_session=False)
    )
    rows = taken.all()
    for _, contact_id, campaign_id in rows:
        contact = await session.get_one(Contact, contact_id)
        campaign = await session.get_one(Campaign, campaign_id)
        reschedule(contact, campaign, now, WaitingReason.SEND_RETRY)
    return [(attempt_id, campaign_id) for attempt_id, _, campaign_id in rows]


async def stale_sending(session: AsyncSession, now: datetime, lease: float) -> int:
    """Requests sent longer ago than the lease with no answer recorded: the dial job is gone
    and MTT may have placed the call, so they become unknown (never sent again)."""
    ensure_writing(session)
    cutoff = now - timedelta(seconds=lease)
    moved = await session.execute(
        update(Attempt)
        .where(Attempt.state == AttemptState.SENDING, Attempt.sent_at < cutoff)
        .values(state=AttemptState.UNKNOWN, error="no answer recorded after sending")
        .returning(Attempt.id)
        .execution_options(synchronize_session=False)
    )
    return len(moved.all())


async def overdue(session: AsyncSession, now: datetime, after: float) -> list[Overdue]:
    """Live calls sent longer ago than the final-event timeout, oldest first."""
    sent = func.coalesce(Attempt.sent_at, Attempt.claimed_at)
    rows = await session.execute(
        select(Attempt.id, Attempt.campaign_id, Attempt.phone, Attempt.call_id, sent)
        .where(Attempt.state.in_(LIVE), sent < now - timedelta(seconds=after))
        .order_by(Attempt.id)
        .limit(BATCH)
    )
    return [Overdue(*row) for row in rows.all()]


async def lose(
    session: AsyncSession, attempt_ids: Sequence[int], *, base: RedialPolicy, now: datetime
) -> list[Lease]:
    """No final event ever came: lost, and the contact settled as unanswered (redialed or
    final) if it is still waiting on this call. A late `h` may replace that decision."""
    ensure_writing(session)
    if not attempt_ids:
        return []
    lost = await session.execute(
        update(Attempt)
        .where(Attempt.id.in_(list(attempt_ids)), Attempt.state.in_(LIVE))
        .values(state=AttemptState.LOST)
        .returning(Attempt.id, Attempt.contact_id, Attempt.campaign_id)
        .execution_options(synchronize_session=False)
    )
    rows = lost.all()
    for attempt_id, contact_id, campaign_id in rows:
        contact = await session.get_one(Contact, contact_id)
        if contact.status != ContactStatus.DIALING:
            continue
        campaign = await session.get_one(Campaign, campaign_id)
        settlement = settle_lost(contact, campaign, base=base, now=now)
        write_settlement(contact, settlement, now=now)
        contact.first_call_at = contact.first_call_at or now
        attempt = await session.get_one(Attempt, attempt_id)
        attempt.category = settlement.category.value
    return [(attempt_id, campaign_id) for attempt_id, _, campaign_id in rows]


async def expire_ended(session: AsyncSession, now: datetime) -> list[int]:
    """Campaigns past their end_at: waiting contacts expire, and the campaign completes once
    none is being dialed; the ids completed."""
    ensure_writing(session)
    live = (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
    ended = list(
        (
            await session.scalars(
                select(Campaign.id).where(Campaign.status.in_(live), Campaign.end_at <= now)
            )
        ).all()
    )
    if not ended:
        return []
    await session.execute(
        close_waiting(Contact.campaign_id.in_(ended), Outcome.EXPIRED).execution_options(
            synchronize_session=False
        )
    )
    return await _complete(
        session,
        and_(Campaign.id.in_(ended), Campaign.status.in_(live)),
        now,
        reason=END_PASSED,
    )


async def complete_finished(session: AsyncSession, now: datetime) -> list[int]:
    """Running campaigns whose every contact is done; the ids completed. A campaign without any
    contact keeps running: its contacts may still be on their way."""
    ensure_writing(session)
    has_contacts = exists().where(Contact.campaign_id == Campaign.id)
    return await _complete(
        session, and_(Campaign.status == CampaignStatus.RUNNING, has_contacts), now
    )


async def close_orphans(session: AsyncSession, now: datetime) -> int:
    """Contacts a late call left waiting in a campaign that has meanwhile ended: cancelled or
    expired, as the campaign's other waiting contacts were."""
    ensure_writing(session)
    closed = 0
    for status, outcome in (
        (CampaignStatus.CANCELLED, Outcome.CANCELLED),
        (CampaignStatus.COMPLETED, Outcome.EXPIRED),
    ):
        ended = select(Campaign.id).where(
            Campaign.status == status, Campaign.finished_at >= now - ORPHAN_HORIZON
        )
        done = await session.execute(
            close_waiting(Contact.campaign_id.in_(ended.scalar_subquery()), outcome)
            .returning(Contact.id)
            .execution_options(synchronize_session=False)
        )
        closed += len(done.all())
    return closed


@dataclass(frozen=True)
class Spiked:
    """A running campaign in a network spike, and when it last started running (read with it)."""

    campaign_id: int
    running_since: datetime
    spike: Spike


async def network_spikes(
    session: AsyncSession, now: datetime, rule: SpikeRule, categories: Mapping[int, Category]
) -> list[Spiked]:
    """Running campaigns whose recently finished calls are mostly network failures
    (campaigns.spikes). A read: one range of ix_attempt_campaign_finished per running campaign.
    `updated_at` is when a running campaign last started: it can be edited only while paused."""
    rows = await session.execute(
        select(Attempt.campaign_id, Campaign.updated_at, Attempt.finished_at, Attempt.cause)
        .join(Campaign, Campaign.id == Attempt.campaign_id)
        .where(
            Campaign.status == CampaignStatus.RUNNING,
            Attempt.finished_at >= now - rule.window,
            Attempt.finished_at >= Campaign.updated_at,
            Attempt.finished_at <= now,
        )
    )
    finished: defaultdict[tuple[int, datetime], list[Finished]] = defaultdict(list)
    for campaign_id, since, at, cause in rows:
        if at is not None:
            finished[campaign_id, since].append(Finished(at, cause))
    found = []
    for (campaign_id, since), calls in sorted(finished.items()):
        spike = network_spike(calls, categories=categories, rule=rule, running_since=since, now=now)
        if spike is not None:
            found.append(Spiked(campaign_id, since, spike))
    return found


async def pause_spiked(session: AsyncSession, spiked: Spiked, now: datetime) -> bool:
    """Pause the campaign with the spike as its reason, unless it changed since it was read:
    a compare-and-set on status and `updated_at`, so of two sweepers one pauses it, and a
    campaign paused or resumed meanwhile is left as the person left it."""
    ensure_writing(session)
    paused = await session.execute(
        update(Campaign)
        .where(
            Campaign.id == spiked.campaign_id,
            Campaign.status == CampaignStatus.RUNNING,
            Campaign.updated_at == spiked.running_since,
        )
        .values(
            status=CampaignStatus.PAUSED,
            status_reason=spiked.spike.reason,
            updated_at=now,
            network_pauses=Campaign.network_pauses + 1,
        )
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    )
    return paused.first() is not None


async def _complete(
    session: AsyncSession, where: ColumnElement[bool], now: datetime, reason: str | None = None
) -> list[int]:
    """Completes the campaigns matching `where` that have no contact left to call."""
    unfinished = exists().where(
        Contact.campaign_id == Campaign.id,
        Contact.status.in_((*WAITING, ContactStatus.DIALING)),
    )
    done = await session.execute(
        update(Campaign)
        .where(where, ~unfinished)
        .values(
            status=CampaignStatus.COMPLETED, status_reason=reason, finished_at=now, updated_at=now
        )
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(done.scalars())
