"""The frequency cap (DESIGN §7): answered calls per number per Moscow day, across campaigns.

An answered call is a finished attempt whose category is listened or hung_up; the count reads
`ix_attempt_number_finished` (number, finished_at) for one day.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from campaigns.apply import ANSWERED
from campaigns.outcomes import opening_for, window_of
from campaigns.tables import Attempt, Campaign

__all__ = ["MOSCOW", "answered_today", "moscow_day", "next_day_opening"]

MOSCOW = ZoneInfo("Europe/Moscow")
_ATTEMPT = cast(Table, Attempt.__table__)
_ANSWERED_TODAY = (  # built once: it runs before every call
    select(func.count())
    .select_from(_ATTEMPT)
    .where(
        _ATTEMPT.c.number == bindparam("number"),
        _ATTEMPT.c.finished_at >= bindparam("start"),
        _ATTEMPT.c.finished_at < bindparam("end"),
        _ATTEMPT.c.category.in_(sorted(category.value for category in ANSWERED)),
    )
)


def moscow_day(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the Moscow calendar day that contains `now`."""
    day = now.astimezone(MOSCOW).date()
    start = datetime.combine(day, time(), MOSCOW)
    end = datetime.combine(day + timedelta(days=1), time(), MOSCOW)
    return start.astimezone(UTC), end.astimezone(UTC)


def answered_today(session: Session, number: str, now: datetime) -> int:
    start, end = moscow_day(now)
    count = session.execute(_ANSWERED_TODAY, {"number": number, "start": start, "end": end})
    return int(count.scalar_one())


def next_day_opening(campaign: Campaign, timezone: str, now: datetime) -> datetime | None:
    """When a capped contact may be called again: the first moment its calling window is open
    once the Moscow day of `now` is over; None when the campaign ends first."""
    return opening_for(campaign, window_of(campaign), timezone)(moscow_day(now)[1])
