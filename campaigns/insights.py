"""The live campaign page's figures and charts, each counted by the database (issue 13).

Contact-level counts come from `campaigns.stats` (one grouped pass over the campaign's
contacts); what only attempts know (calls per minute, the timeline) reads the attempt index
on (campaign_id, claimed_at), so its cost follows the span asked for, never the campaign's age.
Times are bucketed in SQL: the page gets at most `MAX_POINTS` points whatever the span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Integer, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.apply import ANSWERED
from campaigns.errors import NO_CAMPAIGN, Invalid, NotFound
from campaigns.states import ContactStatus
from campaigns.stats import CampaignStats, campaign_stats
from campaigns.tables import Attempt, Campaign, Contact

__all__ = [
    "LISTENED_BUCKETS",
    "MAX_POINTS",
    "Figures",
    "Point",
    "Pulse",
    "figures",
    "listened_histogram",
    "pulse",
    "timeline",
]

MAX_POINTS: Final = 180
"""Most points a timeline returns: wider spans get wider buckets."""
BUCKET_LADDER: Final = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
"""Bucket widths in seconds, the narrowest that keeps a span within MAX_POINTS is used."""
LISTENED_BUCKETS: Final = (0, 5, 10, 20, 30, 45, 60, 90, 120)
"""Lower bounds (seconds) of the listened-seconds histogram; the last bucket is open."""
_ANSWERED: Final = sorted(category.value for category in ANSWERED)
_MINUTE: Final = timedelta(minutes=1)
SETTLE: Final = timedelta(minutes=15)
"""How long after a bucket ends its counts may still change: a call's answer is recorded when
its final event comes, which the sweeper waits for up to DIALER_FINAL_EVENT_TIMEOUT (600 s)."""


@dataclass(frozen=True)
class Point:
    at: datetime
    """Start of the bucket, UTC."""
    calls: int
    """Attempts claimed in the bucket."""
    answers: int
    """Those of them answered (listened or hung up)."""


@dataclass(frozen=True)
class Figures:
    stats: CampaignStats
    """Per status, per outcome, DTMF digits, listened seconds: the charts of outcomes and digits."""
    done: int
    total: int
    answered: int
    """Contacts whose outcome is an answered one."""
    answer_rate: float | None
    """answered / finished contacts; None before any finished."""
    average_listened: float | None
    """Seconds listened per answered contact; None before any answered."""
    in_progress: int
    """Contacts being dialed now."""
    calls_last_minute: int
    """Attempts claimed in the minute before `now`: calls per minute now."""
    histogram: list[tuple[int, int]]
    """(lower bound in seconds, answered contacts) per LISTENED_BUCKETS entry."""


async def figures(session: AsyncSession, campaign_id: int, *, now: datetime) -> Figures:
    """Everything the page shows as numbers, for one campaign at `now`."""
    await _campaign(session, campaign_id)
    stats = await campaign_stats(session, campaign_id)
    done = stats.by_status[ContactStatus.DONE]
    answered = sum(stats.by_outcome.get(outcome, 0) for outcome in _ANSWERED)
    return Figures(
        stats=stats,
        done=done,
        total=stats.total,
        answered=answered,
        answer_rate=answered / done if done else None,
        average_listened=stats.listened_seconds / answered if answered else None,
        in_progress=stats.by_status[ContactStatus.DIALING],
        calls_last_minute=await _calls_last_minute(session, campaign_id, now),
        histogram=await listened_histogram(session, campaign_id),
    )


@dataclass(frozen=True)
class Pulse:
    """The figures that move every second, cheap enough to read on every request: a few index
    entries each, whatever the campaign's size."""

    status: str
    in_progress: int
    calls_last_minute: int


async def pulse(session: AsyncSession, campaign_id: int, *, now: datetime) -> Pulse:
    campaign = await _campaign(session, campaign_id)
    dialing = await session.scalar(
        select(func.count()).where(
            Contact.campaign_id == campaign_id, Contact.status == ContactStatus.DIALING
        )
    )
    return Pulse(campaign.status, dialing or 0, await _calls_last_minute(session, campaign_id, now))


async def _calls_last_minute(session: AsyncSession, campaign_id: int, now: datetime) -> int:
    recent = await session.scalar(
        select(func.count()).where(
            Attempt.campaign_id == campaign_id,
            Attempt.claimed_at > now - _MINUTE,
            Attempt.claimed_at <= now,
        )
    )
    return recent or 0


async def listened_histogram(session: AsyncSession, campaign_id: int) -> list[tuple[int, int]]:
    """Answered contacts by seconds listened, in the fixed LISTENED_BUCKETS, zeros included."""
    bucket = case(
        *(
            (Contact.listened_seconds >= bound, bound)
            for bound in sorted(LISTENED_BUCKETS, reverse=True)
        ),
        else_=0,
    )
    rows = await session.execute(
        select(bucket, func.count())
        .where(Contact.campaign_id == campaign_id, Contact.outcome.in_(_ANSWERED))
        .group_by(bucket)
    )
    counts: dict[int, int] = dict(rows.all())
    return [(bound, counts.get(bound, 0)) for bound in LISTENED_BUCKETS]


def bucket_seconds(span: timedelta) -> int:
    """The narrowest width of BUCKET_LADDER that cuts `span` into at most MAX_POINTS buckets."""
    for width in BUCKET_LADDER:
        if span.total_seconds() / width <= MAX_POINTS:
            return width
    return BUCKET_LADDER[-1]


async def timeline(
    session: AsyncSession,
    campaign_id: int,
    *,
    now: datetime,
    span: timedelta = timedelta(hours=3),
    known: Sequence[Point] = (),
    settle: timedelta = SETTLE,
) -> list[Point]:
    """Calls and answers per bucket over the campaign's last `span` of life (up to its end or
    `now`), every bucket present, zeros included; the width is `bucket_seconds(span)`.

    `known` is an earlier answer for the same span: its buckets that ended `settle` or more
    before `now` are taken as they are (a call's claim time never moves, and its answer is
    known once its final event came), and only the rest is counted."""
    if span <= timedelta(0):
        raise Invalid("span", f"must be positive, got {span}")
    campaign = await _campaign(session, campaign_id)
    end = min(now, campaign.finished_at or now)
    width = bucket_seconds(span)
    first = _floor(max(end - span, campaign.started_at or campaign.created_at), width)
    step = timedelta(seconds=width)
    kept = {
        int(p.at.timestamp()): (p.calls, p.answers)
        for p in known
        if p.at >= first and p.at + step <= now - settle and p.at.timestamp() % width == 0
    }
    counted_from = first
    while int(counted_from.timestamp()) in kept:
        counted_from += step
    found = kept | await _buckets(session, campaign_id, width, counted_from, end)
    points = []
    at = int(first.timestamp())
    while at <= end.timestamp():
        calls, answers = found.get(at, (0, 0))
        points.append(Point(datetime.fromtimestamp(at, UTC), calls, answers))
        at += width
    return points


async def _buckets(
    session: AsyncSession, campaign_id: int, width: int, start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    """Bucket start (epoch seconds) → (calls, answers) of the attempts claimed in [start, end]."""
    key = _epoch(session, Attempt.claimed_at) // width
    answered = case((Attempt.category.in_(_ANSWERED), 1), else_=0)
    rows = await session.execute(
        select(key, func.count(), func.coalesce(func.sum(answered), 0))
        .where(
            Attempt.campaign_id == campaign_id,
            Attempt.claimed_at >= start,
            Attempt.claimed_at <= end,
        )
        .group_by(key)
    )
    return {int(bucket) * width: (calls, int(answers)) for bucket, calls, answers in rows}


def _floor(moment: datetime, width: int) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % width, UTC)


def _epoch(session: AsyncSession, column: Any) -> ColumnElement[int]:
    """Whole seconds since the epoch of a stored UTC time, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), Integer)


async def _campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    return campaign
