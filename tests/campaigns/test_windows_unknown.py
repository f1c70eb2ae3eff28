"""A callee of unknown zone: called only while the window is open in every Russian zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.windows import (
    UNKNOWN_ZONE,
    CallingWindow,
    DailySpan,
    is_open,
    next_closing,
    next_opening,
)
from dialer.telecom.numbering_zones import RUSSIAN_ZONES

WEDNESDAY = datetime(2026, 11, 25, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, tzinfo=UTC)


def _at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return day + timedelta(hours=int(hours), minutes=int(minutes))


@pytest.mark.parametrize(
    ("day", "hhmm", "expected"),
    [
        # workdays 08-22 local in UTC+2..+12: 06:00-10:00 UTC (09:00-13:00 Moscow)
        (WEDNESDAY, "05:59", False),
        (WEDNESDAY, "06:00", True),
        (WEDNESDAY, "09:59", True),
        (WEDNESDAY, "10:00", False),
        (WEDNESDAY, "18:00", False),  # 21:00 Moscow: open there, 06:00 in Kamchatka
        # weekends 09-20 local: 07:00-08:00 UTC
        (SATURDAY, "06:59", False),
        (SATURDAY, "07:00", True),
        (SATURDAY, "08:00", False),
    ],
)
def test_unknown_zone_is_open_only_when_every_russian_zone_is(
    day: datetime, hhmm: str, expected: bool
) -> None:
    at = _at(day, hhmm)
    assert is_open(CallingWindow(), UNKNOWN_ZONE, at) is expected
    assert all(is_open(CallingWindow(), zone, at) for zone in RUSSIAN_ZONES) is expected


def test_unknown_zone_opens_and_closes_with_the_intersection() -> None:
    window = CallingWindow()
    assert next_opening(window, UNKNOWN_ZONE, WEDNESDAY) == _at(WEDNESDAY, "06:00")
    assert next_opening(window, UNKNOWN_ZONE, _at(WEDNESDAY, "10:00")) == _at(
        WEDNESDAY + timedelta(days=1), "06:00"
    )
    assert next_closing(window, UNKNOWN_ZONE, _at(WEDNESDAY, "07:00")) == _at(WEDNESDAY, "10:00")
    assert next_closing(window, UNKNOWN_ZONE, _at(WEDNESDAY, "11:00")) == _at(WEDNESDAY, "11:00")


def test_a_window_never_open_everywhere_at_once_never_opens_for_unknown_zones() -> None:
    hour = DailySpan(9 * 60, 10 * 60)
    window = CallingWindow(workdays=hour, weekends=hour)
    assert next_opening(window, UNKNOWN_ZONE, WEDNESDAY) is None


def test_unknown_zone_respects_the_campaign_dates() -> None:
    opening = next_opening(
        CallingWindow(), UNKNOWN_ZONE, WEDNESDAY, start_at=_at(WEDNESDAY, "08:30")
    )
    assert opening == _at(WEDNESDAY, "08:30")
    assert (
        next_opening(CallingWindow(), UNKNOWN_ZONE, WEDNESDAY, end_at=_at(WEDNESDAY, "05:00"))
        is None
    )


@settings(max_examples=60, deadline=None)
@given(st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)))
def test_the_unknown_zone_opening_is_the_first_moment_open_everywhere(at: datetime) -> None:
    window = CallingWindow()
    opening = next_opening(window, UNKNOWN_ZONE, at)
    assert opening is not None
    assert opening >= at
    assert all(is_open(window, zone, opening) for zone in RUSSIAN_ZONES)
    moment = at
    while moment < opening:
        assert not all(is_open(window, zone, moment) for zone in RUSSIAN_ZONES)
        moment += timedelta(minutes=10)
