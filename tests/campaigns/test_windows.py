from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns import windows as windows_module
from campaigns.windows import (
    CallingWindow,
    DailySpan,
    is_open,
    load_calendars,
    next_closing,
    next_opening,
    parse_hhmm,
)

MSK = "Europe/Moscow"
NY = "America/New_York"
LONDON = "Europe/London"
VLADIVOSTOK = "Asia/Vladivostok"
KALININGRAD = "Europe/Kaliningrad"


def window(
    workdays: tuple[str, str] = ("08:00", "22:00"),
    weekends: tuple[str, str] = ("09:00", "20:00"),
    holidays: bool = True,
) -> CallingWindow:
    schedule = {"workdays": list(workdays), "weekends": list(weekends), "holidays": holidays}
    return CallingWindow.from_schedule(schedule)


def every_day(start: str, end: str) -> CallingWindow:
    return window((start, end), (start, end), holidays=False)


def local(tz: str, text: str) -> datetime:
    """An aware datetime from a wall-clock time in `tz` (the earlier one when ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("00:00", 0), ("08:00", 480), ("8:30", 510), ("23:59", 1439), ("24:00", 1440)],
)
def test_parse_hhmm(text: str, minutes: int) -> None:
    assert parse_hhmm(text, "f") == minutes


@pytest.mark.parametrize("value", ["25:00", "24:01", "08:60", "0800", "", "8", 800, None])
def test_parse_hhmm_names_the_field(value: object) -> None:
    with pytest.raises(ValueError, match=r"schedule\.workdays\[0\]"):
        parse_hhmm(value, "schedule.workdays[0]")


def test_the_defaults_are_the_russian_debt_collection_hours() -> None:
    default = CallingWindow()
    assert default.workdays.as_strings() == ["08:00", "22:00"]
    assert default.weekends.as_strings() == ["09:00", "20:00"]
    assert default.holidays
    assert default.timezone == MSK
    assert CallingWindow.from_schedule({}) == default
    nulls = {"workdays": None, "weekends": None, "holidays": None, "timezone": None}
    assert CallingWindow.from_schedule(nulls) == default


def test_the_design_schedule_parses() -> None:
    schedule = {
        "timezone": "Asia/Yekaterinburg",
        "workdays": ["10:00", "21:30"],
        "weekends": ["00:00", "24:00"],
        "holidays": False,
        "start_at": None,
        "end_at": None,
    }
    parsed = CallingWindow.from_schedule(schedule)
    assert parsed == CallingWindow(
        DailySpan(600, 1290), DailySpan(0, 1440), holidays=False, timezone="Asia/Yekaterinburg"
    )
    assert parsed.weekends.as_strings() == ["00:00", "24:00"]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"workdays": ["22:00", "08:00"]}, "schedule.workdays: start '22:00' is after end '08:00'"),
        ({"workdays": "08:00-22:00"}, "schedule.workdays: expected"),
        ({"weekends": ["09:00"]}, "schedule.weekends: expected"),
        ({"weekends": ["09:00", "20:70"]}, r"schedule.weekends\[1\]"),
        ({"holidays": "yes"}, "schedule.holidays"),
        ({"timezone": "Mars/Olympus"}, "schedule.timezone: unknown time zone 'Mars/Olympus'"),
        ({"timezone": 3}, "schedule.timezone"),
        ({"timezone": ""}, "schedule.timezone: unknown time zone ''"),
        ({"timezone": "x" * 300}, "schedule.timezone: unknown time zone 'xxx"),
    ],
)
def test_bad_schedules_name_the_field(schedule: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CallingWindow.from_schedule(schedule)


def test_a_span_may_not_cross_midnight() -> None:
    with pytest.raises(ValueError, match="without crossing midnight"):
        DailySpan(1320, 60)


@pytest.mark.parametrize(
    ("tz", "when", "holidays", "expected"),
    [
        (MSK, "2026-06-15 07:59", True, False),  # Monday
        (MSK, "2026-06-15 08:00", True, True),
        (MSK, "2026-06-15 21:59:59", True, True),
        (MSK, "2026-06-15 22:00", True, False),
        (MSK, "2026-06-13 08:30", True, False),  # Saturday
        (MSK, "2026-06-13 09:00", True, True),
        (MSK, "2026-06-13 20:00", True, False),
        (MSK, "2026-06-12 08:30", True, False),  # Friday, Russia Day
        (MSK, "2026-06-12 19:59", True, True),
        (MSK, "2026-06-12 20:30", True, False),
        (MSK, "2026-06-12 08:30", False, True),  # holidays off: just a Friday
        (MSK, "2027-01-04 08:30", True, False),  # Monday in the New Year holidays
        (MSK, "2027-01-08 21:00", True, False),
        (MSK, "2027-01-11 08:30", True, True),  # first workday after them
        (MSK, "2027-02-20 08:30", True, True),  # a Saturday moved to a workday
        (MSK, "2027-02-20 08:30", False, False),
        (MSK, "2027-02-22 08:30", True, False),  # the Monday it was moved to
        (VLADIVOSTOK, "2026-06-15 08:00", True, True),  # still Sunday in Moscow
        (VLADIVOSTOK, "2026-06-14 21:00", True, False),
        (KALININGRAD, "2026-06-15 07:30", True, False),  # 08:30 in Moscow
        (KALININGRAD, "2026-06-15 21:30", True, True),  # 22:30 in Moscow
        (NY, "2026-07-03 08:30", True, True),  # US holidays do not count
    ],
)
def test_is_open(tz: str, when: str, holidays: bool, expected: bool) -> None:
    assert is_open(window(holidays=holidays), tz, local(tz, when)) is expected


def test_is_open_uses_the_callee_zone_not_the_instant_zone() -> None:
    at = utc("2026-06-14 22:30")  # Sunday 01:30 in Moscow, Monday 08:30 in Vladivostok
    assert is_open(window(), VLADIVOSTOK, at)
    assert not is_open(window(), MSK, at)


@pytest.mark.parametrize(
    ("tz", "when", "expected"),
    [
        (MSK, "2026-06-15 10:00", "2026-06-15 10:00"),  # open now: now
        (MSK, "2026-06-15 06:00", "2026-06-15 08:00"),
        (MSK, "2026-06-12 07:00", "2026-06-12 09:00"),  # Russia Day
        (MSK, "2026-06-19 22:30", "2026-06-20 09:00"),  # Friday night → Saturday
        (MSK, "2026-06-20 20:00", "2026-06-21 09:00"),
        (MSK, "2026-06-21 20:00", "2026-06-22 08:00"),  # Sunday night → Monday
        (MSK, "2026-12-30 22:00", "2026-12-31 09:00"),  # 31 Dec 2026 is a day off
        (MSK, "2027-01-01 00:00", "2027-01-01 09:00"),
        (MSK, "2027-01-08 20:00", "2027-01-09 09:00"),
        (MSK, "2027-01-10 20:00", "2027-01-11 08:00"),
        (MSK, "2027-02-19 23:00", "2027-02-20 08:00"),  # working Saturday
        (VLADIVOSTOK, "2026-06-15 22:00", "2026-06-16 08:00"),
        (KALININGRAD, "2026-06-15 07:00", "2026-06-15 08:00"),
        (NY, "2026-03-07 23:00", "2026-03-08 09:00"),  # across the spring-forward night
        (LONDON, "2026-10-24 21:00", "2026-10-25 09:00"),  # across the fall-back night
    ],
)
def test_next_opening(tz: str, when: str, expected: str) -> None:
    opening = next_opening(window(), tz, local(tz, when))
    assert opening == local(tz, expected)
    assert opening is not None
    assert opening.tzinfo is UTC


def test_far_zones_open_at_their_own_eight() -> None:
    at = utc("2026-06-15 12:00")  # 22:00 in Vladivostok, 14:00 in Kaliningrad
    assert next_opening(window(), VLADIVOSTOK, at) == utc("2026-06-15 22:00")
    assert next_opening(window(), KALININGRAD, at) == at


def test_an_opening_inside_the_spring_forward_gap_is_the_jump() -> None:
    # New York, 8 Mar 2026: 02:00 EST becomes 03:00 EDT at 07:00 UTC; 02:30 never happens.
    assert next_opening(every_day("02:30", "05:00"), NY, utc("2026-03-08 06:00")) == utc(
        "2026-03-08 07:00"
    )
    # London, 29 Mar 2026: 01:00 GMT becomes 02:00 BST at 01:00 UTC.
    assert next_opening(every_day("01:30", "03:00"), LONDON, utc("2026-03-29 00:00")) == utc(
        "2026-03-29 01:00"
    )


def test_the_fall_back_hour_reopens_a_window() -> None:
    # London, 25 Oct 2026: 02:00 BST becomes 01:00 GMT at 01:00 UTC; 01:00–01:59 happens twice.
    night = every_day("00:00", "01:30")
    assert is_open(night, LONDON, utc("2026-10-25 00:15"))  # 01:15 BST
    assert not is_open(night, LONDON, utc("2026-10-25 00:45"))  # 01:45 BST
    assert next_opening(night, LONDON, utc("2026-10-25 00:45")) == utc("2026-10-25 01:00")
    assert next_closing(night, LONDON, utc("2026-10-25 01:00")) == utc("2026-10-25 01:30")


@pytest.mark.parametrize(
    ("start_at", "end_at", "expected"),
    [
        (None, None, "2026-06-15 08:00"),
        ("2026-06-15 09:30", None, "2026-06-15 09:30"),
        ("2026-06-15 23:00", None, "2026-06-16 08:00"),
        (None, "2026-06-15 08:00:01", "2026-06-15 08:00"),
        (None, "2026-06-15 08:00", None),
        (None, "2026-06-15 05:00", None),
    ],
)
def test_next_opening_stays_inside_the_campaign(
    start_at: str | None, end_at: str | None, expected: str | None
) -> None:
    opening = next_opening(
        window(),
        MSK,
        local(MSK, "2026-06-15 06:00"),
        start_at=None if start_at is None else local(MSK, start_at),
        end_at=None if end_at is None else local(MSK, end_at),
    )
    assert opening == (None if expected is None else local(MSK, expected))


def test_a_window_that_never_opens() -> None:
    shut = every_day("10:00", "10:00")
    assert next_opening(shut, MSK, utc("2026-06-15 00:00")) is None
    assert not is_open(shut, MSK, utc("2026-06-15 07:00"))


def test_a_weekend_only_window_waits_for_the_weekend() -> None:
    weekends_only = window(("12:00", "12:00"), ("10:00", "18:00"))
    assert next_opening(weekends_only, MSK, local(MSK, "2026-06-15 12:00")) == local(
        MSK, "2026-06-20 10:00"
    )


@pytest.mark.parametrize(
    ("schedule", "when", "expected"),
    [
        (window(), "2026-06-15 10:00", "2026-06-15 22:00"),
        (window(), "2026-06-15 23:00", "2026-06-15 23:00"),  # shut now
        (window(("00:00", "24:00"), ("09:00", "20:00")), "2026-06-17 10:00", "2026-06-20 00:00"),
        (every_day("00:00", "24:00"), "2026-06-17 10:00", None),
    ],
)
def test_next_closing(schedule: CallingWindow, when: str, expected: str | None) -> None:
    closing = next_closing(schedule, MSK, local(MSK, when))
    assert closing == (None if expected is None else local(MSK, expected))


@pytest.mark.parametrize(
    "call",
    [
        lambda: is_open(window(), MSK, datetime(2026, 6, 15, 10)),
        lambda: next_opening(window(), MSK, datetime(2026, 6, 15, 10)),
        lambda: next_opening(window(), MSK, utc("2026-06-15 10:00"), end_at=datetime(2026, 7, 1)),
        lambda: next_closing(window(), MSK, datetime(2026, 6, 15, 10)),
    ],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()  # type: ignore[operator]


def test_an_unknown_callee_zone_is_named() -> None:
    with pytest.raises(ValueError, match="tz: unknown time zone 'Europe/Atlantis'"):
        is_open(window(), "Europe/Atlantis", utc("2026-06-15 10:00"))


ZONES = [MSK, NY, LONDON, VLADIVOSTOK, KALININGRAD, "Asia/Kolkata", "Australia/Lord_Howe"]
TRANSITIONS = [  # (zone, UTC instant of a clock change); Lord Howe moves by half an hour
    (NY, utc("2026-03-08 07:00")),
    (NY, utc("2026-11-01 06:00")),
    (LONDON, utc("2026-03-29 01:00")),
    (LONDON, utc("2026-10-25 01:00")),
    ("Australia/Lord_Howe", utc("2026-04-04 15:00")),
    ("Australia/Lord_Howe", utc("2026-10-03 15:30")),
]
minutes = st.integers(min_value=0, max_value=1440)
spans = st.tuples(minutes, minutes).map(lambda pair: DailySpan(min(pair), max(pair)))
windows = st.builds(CallingWindow, spans, spans, st.booleans())
anywhere = st.tuples(
    st.sampled_from(ZONES),
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
)
near_a_change = st.tuples(
    st.sampled_from(TRANSITIONS), st.integers(min_value=-2 * 1440, max_value=2 * 1440)
).map(lambda pick: (pick[0][0], pick[0][1] + timedelta(minutes=pick[1])))
zoned_instants = st.one_of(anywhere, near_a_change)


def sample_minutes(start: datetime, stop: datetime) -> list[datetime]:
    """`start` and the minute marks in [start, stop): all near `stop`, a spread before."""
    if stop <= start:
        return []
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    count = int((stop - first).total_seconds() // 60)
    step = max(1, count // 300)
    picked = set(range(0, count, step)) | set(range(max(0, count - 180), count))
    return [start] + [first + timedelta(minutes=index) for index in sorted(picked)]


@settings(max_examples=200, deadline=None)
@given(windows, zoned_instants)
def test_next_opening_is_the_first_open_moment(
    schedule: CallingWindow, zoned: tuple[str, datetime]
) -> None:
    tz, at = zoned
    opening = next_opening(schedule, tz, at)
    if opening is None:
        assert schedule.never_open
        return
    assert opening >= at
    assert is_open(schedule, tz, opening)
    assert not any(is_open(schedule, tz, moment) for moment in sample_minutes(at, opening))


@settings(max_examples=200, deadline=None)
@given(windows, zoned_instants)
def test_next_closing_is_the_first_shut_moment(
    schedule: CallingWindow, zoned: tuple[str, datetime]
) -> None:
    tz, at = zoned
    closing = next_closing(schedule, tz, at)
    if closing is None:
        assert is_open(schedule, tz, at + timedelta(days=200))
        return
    assert closing >= at
    assert not is_open(schedule, tz, closing)
    assert all(is_open(schedule, tz, moment) for moment in sample_minutes(at, closing))


def test_calendars_loaded_ahead_serve_this_year_and_the_next_without_building() -> None:
    windows_module._russian_calendar.cache_clear()
    load_calendars(datetime(2026, 12, 31, 20, 0, tzinfo=UTC))
    built = windows_module._russian_calendar.cache_info().misses
    assert built == 2
    for day in (datetime(2026, 12, 31, 9, tzinfo=UTC), datetime(2027, 1, 8, 9, tzinfo=UTC)):
        is_open(window(("09:00", "21:00"), ("10:00", "20:00")), "Europe/Moscow", day)
    assert windows_module._russian_calendar.cache_info().misses == built
