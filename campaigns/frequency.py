"""The frequency cap (DESIGN §7): answered calls per number per Moscow day, across campaigns.

An answered call is a finished attempt whose category is listened or hung_up; the count reads
`ix_attempt_number_finished` (number, finished_at) for one day.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns.apply import ANSWERED
from campaigns.outcomes import opening_for, window_of
from campaigns.tables import Attempt, Campaign

__all__ = ["MOSCOW", "answered_today", "moscow_day", "next_day_opening"]

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow_day(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the Moscow calendar day that contains `now`."""
    day = now.astimezone(MOSCOW).date()
    start = datetime.combine(day, time(), MOSCOW)
    end = datetime.combine(day + timedelta(days=1), time(), MOSCOW)
    return start.astimezone(UTC), end.astimezone(UTC)


def answered_today(session: Session, number: str, now: datetime) -> int:
    start, end = moscow_day(now)
    count = session.execute(
        select(func.count())
        .select_from(Attempt)
        .where(
            Attempt.number == number,
            Attempt.finished_at >= start,
            Attempt.finished_at < end,
            Attempt.category.in_(sorted(category.value for category in ANSWERED)),
        )
    )
    return int(count.scalar_one())


def next_day_opening(campaign: Campaign, timezone: str, now: datetime) -> datetime | None:
    """When a capped contact may be called again: the first moment its calling window is open
    once the Moscow day of `now` is over; None when the campaign ends first."""
    return opening_for(campaign, window_of(campaign), timezone)(moscow_day(now)[1])
