"""Frequency caps on answered calls per number, across campaigns.

- The service's daily cap (docs/design.md §7): answered calls per Moscow day, every campaign
counting.
- debt_collection's caps (230-FZ art. 7, campaigns.purposes): answered calls of debt_collection
  campaigns per calendar day, week (Monday to Sunday) and month in the callee's local time.
  Calls placed and not yet finished count as answered until they end: two campaigns dialing one
  number at once must not both get through. Capped by those alone, the contact is tried again
  after `IN_FLIGHT_RETRY` rather than in the next period.

An answered call is a finished attempt whose category is listened or hung_up; the counts read
`ix_attempt_number_finished` (number, finished_at).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, or_, select
from sqlalchemy.orm import Session

from campaigns.apply import ANSWERED
from campaigns.policy import opening_for, window_of
from campaigns.purposes import Caps, Purpose
from campaigns.states import AttemptState
from campaigns.tables import Attempt, Campaign

__all__ = [
    "IN_FLIGHT_RETRY",
    "MOSCOW",
    "answered_today",
    "calendar_periods",
    "debt_capped_until",
    "debt_interactions",
    "moscow_day",
    "next_day_opening",
]

IN_FLIGHT_RETRY = timedelta(minutes=5)
"""When a contact capped only by calls still in progress is tried again."""
_IN_FLIGHT = (
    AttemptState.SENDING,
    AttemptState.ACCEPTED,
    AttemptState.UNKNOWN,
    AttemptState.ORIGINATED,
)

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
_CAMPAIGN = cast(Table, Campaign.__table__)
_DEBT_INTERACTIONS = (  # runs before every call of a debt_collection campaign
    select(_ATTEMPT.c.finished_at, _ATTEMPT.c.state)
    .select_from(_ATTEMPT.join(_CAMPAIGN, _CAMPAIGN.c.id == _ATTEMPT.c.campaign_id))
    .where(
        _ATTEMPT.c.number == bindparam("number"),
        _ATTEMPT.c.id != bindparam("attempt_id"),
        _CAMPAIGN.c.purpose == Purpose.DEBT_COLLECTION.value,
        or_(
            _ATTEMPT.c.state.in_([state.value for state in _IN_FLIGHT]),
            (_ATTEMPT.c.finished_at >= bindparam("since"))
            & _ATTEMPT.c.category.in_(sorted(category.value for category in ANSWERED)),
        ),
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


def calendar_periods(now: datetime, timezone: str) -> list[tuple[datetime, datetime]]:
    """[start, end) in UTC of the local calendar day, week (from Monday) and month of `now`.
    A callee of unknown zone counts by Moscow's calendar: the law's periods need some calendar,
    and the calls themselves still wait for the window open in every zone."""
    zone = ZoneInfo(timezone) if timezone else MOSCOW
    day = now.astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    spans = ((day, day + timedelta(days=1)), (monday, monday + timedelta(days=7)))
    return [_local_span(start, end, zone) for start, end in (*spans, (first, following))]


def _local_span(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time(), zone).astimezone(UTC),
        datetime.combine(end, time(), zone).astimezone(UTC),
    )


def debt_capped_until(
    answered: Sequence[datetime], in_flight: int, caps: Caps, timezone: str, now: datetime
) -> datetime | None:
    """When the number may next be called under `caps`, given the finish times of its answered
    debt_collection calls and the count of those in progress; None: it may be called now."""
    periods = calendar_periods(now, timezone)
    counts = [sum(start <= at < end for at in answered) for start, end in periods]
    limits = caps.per_period()
    full = [
        end for (_, end), count, cap in zip(periods, counts, limits, strict=True) if count >= cap
    ]
    if full:
        return max(full)
    if any(count + in_flight >= cap for count, cap in zip(counts, limits, strict=True)):
        return now + IN_FLIGHT_RETRY
    return None


def debt_interactions(
    session: Session, number: str, attempt_id: int, now: datetime
) -> tuple[list[datetime], int]:
    """The number's answered debt_collection calls that can fall in the current calendar
    month or week (a week may begin in the previous month), and how many are in progress;
    the attempt being checked is left out."""
    since = now - timedelta(days=38)
    rows = session.execute(
        _DEBT_INTERACTIONS, {"number": number, "attempt_id": attempt_id, "since": since}
    ).all()
    answered = [at for at, state in rows if state not in _IN_FLIGHT and at is not None]
    return answered, sum(state in _IN_FLIGHT for _, state in rows)
