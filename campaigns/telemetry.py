"""The service-wide figures `/metrics` shows, read from the database at scrape time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from campaigns.matching import MatchStatus
from campaigns.states import AttemptState
from campaigns.tables import Attempt, Callback, Campaign, Contact, Event

__all__ = ["Counts", "EventTally", "counts", "new_events"]

_A = AttemptState
_PLACED: Final = frozenset({_A.ACCEPTED, _A.ORIGINATED, _A.FINISHED, _A.LOST, _A.UNKNOWN})
_ANSWERED_STATES: Final = (*_PLACED, _A.REJECTED)


@dataclass
class Counts:
    attempts: dict[str, int] = field(default_factory=dict)
    placed: int = 0
    failures: dict[str, int] = field(default_factory=lambda: {"rejected": 0, "not_sent": 0})
    categories: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    """Seconds from request to sb-api's answer of the calls claimed since `latency_since`."""
    conflicts: int = 0
    """Webhook events stored but not applied: they contradict the attempt they name."""
    network_pauses: int = 0
    """Times the service paused a campaign for a spike of network failures (campaigns.spikes)."""


async def counts(session: AsyncSession, *, latency_since: datetime) -> Counts:
    c = Counts()
    rows = await session.execute(
        select(
            Attempt.state,
            Attempt.category,
            Attempt.sent_at.is_not(None),
            Attempt.responded_at.is_not(None),
            func.count(),
        ).group_by(
            Attempt.state,
            Attempt.category,
            Attempt.sent_at.is_not(None),
            Attempt.responded_at.is_not(None),
        )
    )
    for state, category, sent, responded, count in rows:
        c.attempts[state] = c.attempts.get(state, 0) + count
        if category is not None:
            c.categories[category] = c.categories.get(category, 0) + count
        if state in _PLACED:
            c.placed += count
        elif state == _A.REJECTED and responded:
            c.failures["rejected"] += count
        elif state == _A.REJECTED and sent:
            c.failures["not_sent"] += count
    c.contacts = await _grouped(session, Contact.status)
    c.outcomes = await _grouped(session, Contact.outcome)
    c.callbacks = await _grouped(session, Callback.status)
    # as a literal: SQLite uses the partial index ix_event_conflict only for its very condition
    conflict = Event.match_status == literal_column(f"'{MatchStatus.CONFLICT.value}'")
    c.conflicts = await session.scalar(select(func.count()).where(conflict)) or 0
    c.network_pauses = await session.scalar(select(func.sum(Campaign.network_pauses))) or 0
    recent = await session.execute(
        select(Attempt.sent_at, Attempt.responded_at).where(
            Attempt.state.in_(_ANSWERED_STATES),
            Attempt.claimed_at >= latency_since,
            Attempt.sent_at.is_not(None),
            Attempt.responded_at.is_not(None),
        )
    )
    c.latencies = sorted(
        max((answered - sent).total_seconds(), 0.0)
        for sent, answered in recent
        if sent is not None and answered is not None
    )
    return c


async def _grouped(session: AsyncSession, column: InstrumentedAttribute[Any]) -> dict[str, int]:
    rows = await session.execute(select(column, func.count()).group_by(column))
    return {str(value): count for value, count in rows if value is not None}


@dataclass(frozen=True)
class EventTally:
    by_kind: dict[str, int]
    """Events stored since the last tally, by kind ("unparseable" for garbage)."""
    last_id: int
    """Where the next tally starts."""


async def new_events(
    session: AsyncSession, *, after: int, now: datetime, settle: timedelta
) -> EventTally:
    """Events with ids above `after`, stopping before any younger than `settle`: those may
    still be committing with lower ids and are counted next time."""
    fresh = await session.scalar(
        select(func.min(Event.id)).where(Event.id > after, Event.received_at > now - settle)
    )
    query = select(Event.kind, func.count(), func.max(Event.id)).where(Event.id > after)
    if fresh is not None:
        query = query.where(Event.id < fresh)
    by_kind: dict[str, int] = {}
    last_id = after
    for kind, count, last in await session.execute(query.group_by(Event.kind)):
        label = kind or "unparseable"
        by_kind[label] = by_kind.get(label, 0) + count
        last_id = max(last_id, last)
    return EventTally(by_kind, last_id)
