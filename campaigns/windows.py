"""Calling windows in the callee's local time (docs/design.md §7).

A window is wall-clock time of day: the set of instants whose local time, in the callee's zone,
falls in that day's span. Across a DST change that set is not one neat interval a day, so the
open stretches are found as the preimage of the span under each constant-offset piece of the
zone, which keeps `next_opening` exactly consistent with `is_open`.

A callee whose zone is unknown (`UNKNOWN_ZONE`: no numbering-plan range, a foreign number
without a zone) is called only while the window is open in every Russian zone at once, from
Kaliningrad (UTC+2) to Kamchatka (UTC+12): whatever their real zone, it is then inside hours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars

from dialer.telecom.numbering_zones import RUSSIAN_ZONES

DAY_MINUTES = 24 * 60
SEARCH_DAYS = 370  # a window that stays shut for a year is treated as never opening again
_SLACK = timedelta(hours=15)  # more than any UTC offset (−12 h … +14 h)
_PROBE = timedelta(hours=6)  # zone offset changes are months apart; probe this often for them
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
UNKNOWN_ZONE = ""
"""A contact's stored zone when its real one is unknown (the strict policy): see above."""
UNKNOWN_SEARCH = timedelta(days=31)
"""A window that is not open in every zone at once within this is treated as never opening
for a callee of unknown zone (a 09:00–10:00 window never is: the zones are 10 hours apart)."""

# The refusals, formatted from these templates (the console recognises them by them).
NOT_HHMM: Final = "{field}: expected a time as HH:MM, got {value}"
NOT_TIME_OF_DAY: Final = "{field}: {value} is not a time of day from 00:00 to 24:00"
NOT_A_PAIR: Final = '{field}: expected ["HH:MM", "HH:MM"], got {value}'
START_AFTER_END: Final = "{field}: start {start} is after end {end}"
UNKNOWN_TIME_ZONE: Final = "{field}: unknown time zone {value}"
CROSSES_MIDNIGHT: Final = (
    "a calling window runs from 00:00 to 24:00 without crossing midnight, got {span}"
)


def parse_hhmm(value: object, field: str) -> int:
    """Minutes from local midnight; "24:00" is the end of the day."""
    match = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(NOT_HHMM.format(field=field, value=repr(value)))
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(NOT_TIME_OF_DAY.format(field=field, value=repr(value)))
    return hours * 60 + minutes


@dataclass(frozen=True)
class DailySpan:
    """[start, end) in minutes from local midnight; start == end is a day that never opens."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end <= DAY_MINUTES:
            raise ValueError(CROSSES_MIDNIGHT.format(span=self.as_strings()))

    @classmethod
    def parse(cls, value: object, field: str) -> DailySpan:
        if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
            raise ValueError(NOT_A_PAIR.format(field=field, value=repr(value)))
        start = parse_hhmm(value[0], f"{field}[0]")
        end = parse_hhmm(value[1], f"{field}[1]")
        if start > end:
            raise ValueError(
                START_AFTER_END.format(field=field, start=repr(value[0]), end=repr(value[1]))
            )
        return cls(start, end)

    @property
    def empty(self) -> bool:
        return self.start == self.end

    def as_strings(self) -> list[str]:
        return [f"{minute // 60:02d}:{minute % 60:02d}" for minute in (self.start, self.end)]


def _zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise ValueError(UNKNOWN_TIME_ZONE.format(field=field, value=repr(name))) from None


@lru_cache(maxsize=64)
def _russian_calendar(year: int) -> holiday_calendars.HolidayBase:
    return holiday_calendars.country_holidays("RU", years=year)


def load_calendars(now: datetime) -> None:
    """Build the production calendars of this year and the next ahead of need: the first build
    takes half a second here, which the first pacer tick of a campaign would otherwise wait."""
    for year in (now.year, now.year + 1):
        _russian_calendar(year)


@dataclass(frozen=True)
class CallingWindow:
    """Daily spans for workdays and for weekends; with `holidays`, Russia's production calendar
    decides which days are which (public holidays rest, moved working Saturdays work).

    `timezone` is the campaign's zone, for contacts without one of their own; the functions
    below take the callee's zone explicitly.
    """

    workdays: DailySpan = DailySpan(8 * 60, 22 * 60)
    weekends: DailySpan = DailySpan(9 * 60, 20 * 60)
    holidays: bool = True
    timezone: str = "Europe/Moscow"

    def __post_init__(self) -> None:
        _zone(self.timezone, "timezone")

    @classmethod
    def from_schedule(
        cls, schedule: Mapping[str, object], field: str = "schedule"
    ) -> CallingWindow:
        """From the campaign body's `schedule` object; absent or null keys keep the defaults."""
        default = cls()
        holidays = schedule.get("holidays")
        holidays = default.holidays if holidays is None else holidays
        if not isinstance(holidays, bool):
            raise ValueError(f"{field}.holidays: expected true or false, got {holidays!r}")
        timezone = schedule.get("timezone")
        timezone = default.timezone if timezone is None else timezone
        if not isinstance(timezone, str):
            raise ValueError(f"{field}.timezone: expected a time zone name, got {timezone!r}")
        _zone(timezone, f"{field}.timezone")
        return cls(
            workdays=_span_or(schedule, "workdays", default.workdays, field),
            weekends=_span_or(schedule, "weekends", default.weekends, field),
            holidays=holidays,
            timezone=timezone,
        )

    def is_day_off(self, day: date) -> bool:
        if self.holidays:
            return not bool(_russian_calendar(day.year).is_working_day(day))
        return day.weekday() >= 5

    def span_on(self, day: date) -> DailySpan:
        return self.weekends if self.is_day_off(day) else self.workdays

    @property
    def never_open(self) -> bool:
        return self.workdays.empty and self.weekends.empty


def _span_or(schedule: Mapping[str, object], key: str, default: DailySpan, field: str) -> DailySpan:
    value = schedule.get(key)
    return default if value is None else DailySpan.parse(value, f"{field}.{key}")


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: expected a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def is_open(window: CallingWindow, tz: str, at: datetime) -> bool:
    """Whether `at` falls inside the window in the zone `tz` (in every Russian zone for
    `UNKNOWN_ZONE`)."""
    if tz == UNKNOWN_ZONE:
        return all(is_open(window, zone, at) for zone in RUSSIAN_ZONES)
    local = _utc(at, "at").astimezone(_zone(tz, "tz"))
    span = window.span_on(local.date())
    since_midnight = local.replace(tzinfo=None) - datetime.combine(local.date(), time())
    return timedelta(minutes=span.start) <= since_midnight < timedelta(minutes=span.end)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _change_after(zone: ZoneInfo, lo: datetime, hi: datetime, offset: timedelta) -> datetime:
    """The first whole second in (lo, hi] with another offset; `hi` is known to have one."""
    low, high = int(lo.timestamp()), int(hi.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(zone, datetime.fromtimestamp(middle, UTC)) == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _pieces(
    zone: ZoneInfo, lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime, timedelta]]:
    """[lo, hi) cut into constant-offset pieces."""
    pieces = []
    start, offset, probe = lo, _offset(zone, lo), lo
    while probe < hi:
        ahead = min(probe + _PROBE, hi)
        if _offset(zone, ahead) == offset:
            probe = ahead
            continue
        change = _change_after(zone, probe, ahead, offset)
        pieces.append((start, change, offset))
        start, offset, probe = change, _offset(zone, change), change
    pieces.append((start, hi, offset))
    return pieces


def _earliest(day: date) -> datetime:
    """No instant of this local day, in any zone, comes before this."""
    return datetime.combine(day, time(), UTC) - _SLACK


def _open_stretches(
    window: CallingWindow, zone: ZoneInfo, day: date
) -> list[tuple[datetime, datetime]]:
    """The UTC instants whose local date is `day` and local time is inside that day's span."""
    span = window.span_on(day)
    if span.empty:
        return []
    midnight = datetime.combine(day, time(), UTC)
    first = midnight + timedelta(minutes=span.start)
    last = midnight + timedelta(minutes=span.end)
    stretches = []
    for piece_start, piece_end, offset in _pieces(zone, first - _SLACK, last + _SLACK):
        start, end = max(piece_start, first - offset), min(piece_end, last - offset)
        if start < end:
            stretches.append((start, end))
    return sorted(stretches)


def next_opening(
    window: CallingWindow,
    tz: str,
    at: datetime,
    *,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
) -> datetime | None:
    """The first UTC instant ≥ `at` (and ≥ `start_at`) when the window is open in `tz`;
    None when there is none before `end_at` or within a year."""
    if tz == UNKNOWN_ZONE:
        return _opening_everywhere(window, at, start_at=start_at, end_at=end_at)
    zone = _zone(tz, "tz")
    moment = _utc(at, "at")
    if start_at is not None:
        moment = max(moment, _utc(start_at, "start_at"))
    end = None if end_at is None else _utc(end_at, "end_at")
    if window.never_open or (end is not None and moment >= end):
        return None
    first_day = moment.astimezone(zone).date() - timedelta(days=1)
    best: datetime | None = None
    for count in range(SEARCH_DAYS):
        day = first_day + timedelta(days=count)
        horizon = _earliest(day)
        if (best is not None and horizon > best) or (end is not None and horizon >= end):
            break
        for start, stop in _open_stretches(window, zone, day):
            if stop > moment:
                candidate = max(start, moment)
                best = candidate if best is None else min(best, candidate)
                break
    if best is None or (end is not None and best >= end):
        return None
    return best


def _opening_everywhere(
    window: CallingWindow, at: datetime, *, start_at: datetime | None, end_at: datetime | None
) -> datetime | None:
    """The first instant when every Russian zone's window is open: each zone's opening is a
    lower bound, so move to the latest of them until all agree."""
    moment = _utc(at, "at")
    horizon = moment + UNKNOWN_SEARCH
    while moment < horizon:
        openings = [
            next_opening(window, zone, moment, start_at=start_at, end_at=end_at)
            for zone in RUSSIAN_ZONES
        ]
        if any(opening is None for opening in openings):
            return None
        latest = max(opening for opening in openings if opening is not None)
        if latest == moment:
            return moment
        moment = latest
    return None


def next_closing(window: CallingWindow, tz: str, at: datetime) -> datetime | None:
    """The first UTC instant ≥ `at` when the window is shut (`at` itself when shut now);
    None when it stays open for a year (an all-day, every-day window)."""
    if tz == UNKNOWN_ZONE:
        closings = [next_closing(window, zone, at) for zone in RUSSIAN_ZONES]
        return min((c for c in closings if c is not None), default=None)
    zone = _zone(tz, "tz")
    moment = _utc(at, "at")
    if not is_open(window, tz, moment):
        return moment
    first_day = moment.astimezone(zone).date() - timedelta(days=1)
    closing = moment
    for count in range(SEARCH_DAYS):
        day = first_day + timedelta(days=count)
        if _earliest(day) > closing:
            return closing
        for start, stop in _open_stretches(window, zone, day):
            if start <= closing < stop:
                closing = stop
    return None
