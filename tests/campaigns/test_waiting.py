"""`waiting_reason`: why a waiting contact is not being called now, and until when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.states import WaitingReason as R
from campaigns.tables import Campaign
from campaigns.waiting import (
    Waiting,
    WaitingGroup,
    WaitingReasons,
    waiting_reason,
    waiting_summary,
)
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import make_campaign, make_contact

WED_0300_MSK = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
WED_1200_MSK = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WED_2100_MSK = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
"""04:00 on Thursday in Vladivostok (UTC+10)."""
SAT_0830_MSK = datetime(2026, 11, 28, 5, 30, tzinfo=UTC)
LAW: dict[str, Any] = {"window": {}}
"""The default window: workdays 08–22, weekends and holidays 09–20."""
LATER = WED_1200_MSK + timedelta(hours=3)

CASES: list[tuple[str, dict[str, Any], dict[str, Any], datetime, Waiting]] = [
    ("done", LAW, {"status": "done", "outcome": "listened"}, WED_1200_MSK, Waiting(None, None)),
    ("being dialed", LAW, {"status": "dialing"}, WED_0300_MSK, Waiting(None, None)),
    ("draft", {"status": "draft"}, {}, WED_1200_MSK, Waiting(R.NOT_STARTED, None)),
    ("paused", {"status": "paused"}, {}, WED_1200_MSK, Waiting(R.CAMPAIGN_PAUSED, None)),
    ("cancelled", {"status": "cancelled"}, {}, WED_1200_MSK, Waiting(R.CAMPAIGN_ENDED, None)),
    (
        "past its end",
        {"end_at": WED_1200_MSK},
        {},
        WED_1200_MSK,
        Waiting(R.CAMPAIGN_ENDED, None),
    ),
    (
        "scheduled to start at night: the window's opening after the start",
        {**LAW, "status": "scheduled", "start_at": WED_2100_MSK + timedelta(hours=1, minutes=30)},
        {},
        WED_1200_MSK,
        Waiting(R.CAMPAIGN_SCHEDULED, datetime(2026, 11, 26, 5, 0, tzinfo=UTC)),
    ),
    (
        "redial ahead",
        LAW,
        {"status": "scheduled", "next_attempt_at": LATER, "waiting_reason": "redial_delay"},
        WED_1200_MSK,
        Waiting(R.REDIAL_DELAY, LATER),
    ),
    (
        "a time ahead stored without a reason is a redial",
        LAW,
        {"status": "scheduled", "next_attempt_at": LATER},
        WED_1200_MSK,
        Waiting(R.REDIAL_DELAY, LATER),
    ),
    (
        "daily cap",
        LAW,
        {"status": "scheduled", "next_attempt_at": LATER, "waiting_reason": "daily_cap"},
        WED_1200_MSK,
        Waiting(R.DAILY_CAP, LATER),
    ),
    (
        "a stored time now passed: the window decides",
        LAW,
        {"status": "scheduled", "next_attempt_at": WED_0300_MSK, "waiting_reason": "daily_cap"},
        WED_1200_MSK,
        Waiting(R.CONCURRENCY, None),
    ),
    (
        "03:00 in Moscow",
        LAW,
        {},
        WED_0300_MSK,
        Waiting(R.WINDOW_CLOSED, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)),
    ),
    (
        "04:00 in Vladivostok: 08:00 there",
        LAW,
        {"timezone": "Asia/Vladivostok"},
        WED_2100_MSK,
        Waiting(R.WINDOW_CLOSED, datetime(2026, 11, 25, 22, 0, tzinfo=UTC)),
    ),
    (
        "Saturday 08:30: the weekend window opens at 09:00",
        LAW,
        {},
        SAT_0830_MSK,
        Waiting(R.WINDOW_CLOSED, datetime(2026, 11, 28, 6, 0, tzinfo=UTC)),
    ),
    (
        "the window never opens before the end",
        {**LAW, "end_at": WED_0300_MSK + timedelta(hours=1)},
        {},
        WED_0300_MSK,
        Waiting(R.CAMPAIGN_ENDED, None),
    ),
    ("inside the window: a free line", LAW, {}, WED_1200_MSK, Waiting(R.CONCURRENCY, None)),
]


@pytest.mark.parametrize(
    ("campaign", "contact", "now", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_waiting_reason(
    campaign: dict[str, Any], contact: dict[str, Any], now: datetime, expected: Waiting
) -> None:
    row = make_contact(**({"status": "pending"} | contact))
    assert waiting_reason(row, make_campaign(**campaign), now) == expected


@pytest.mark.parametrize(
    ("campaign", "contact", "now", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_exports_texts_say_the_same(
    campaign: dict[str, Any], contact: dict[str, Any], now: datetime, expected: Waiting
) -> None:
    row = make_contact(**({"status": "pending"} | contact))
    at = row.next_attempt_at
    texts = WaitingReasons(make_campaign(**campaign), now).columns(
        [row.status],
        [None if at is None else at.strftime("%Y-%m-%dT%H:%M:%SZ")],
        [row.waiting_reason],
        [row.timezone],
    )
    reason, next_at = expected
    iso = None if next_at is None else next_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert texts == ([None if reason is None else reason.value], [iso])


def test_one_zone_is_computed_once_per_campaign_and_instant() -> None:
    reasons = WaitingReasons(make_campaign(**LAW), WED_0300_MSK)
    first = reasons.of("pending", None, None, "Europe/Moscow")
    assert reasons.of("scheduled", None, None, "Europe/Moscow") is first


async def test_the_summary_counts_contacts_by_reason_with_the_earliest_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await insert_campaign(sessions, **LAW)
    await insert_contacts(sessions, campaign_id, [1, 2], status="pending")
    await insert_contacts(sessions, campaign_id, [3], status="pending", timezone="Asia/Vladivostok")
    for n, hours in ((4, 5), (5, 3)):
        await insert_contacts(
            sessions,
            campaign_id,
            [n],
            status="scheduled",
            next_attempt_at=WED_0300_MSK + timedelta(hours=hours),
            waiting_reason="redial_delay",
        )
    await insert_contacts(sessions, campaign_id, [6], status="done", outcome="listened")
    async with sessions() as session:
        campaign = await session.get_one(Campaign, campaign_id)
        groups = await waiting_summary(session, campaign, WED_0300_MSK)
    assert groups == [  # most first, then by name
        WaitingGroup(R.REDIAL_DELAY, 2, WED_0300_MSK + timedelta(hours=3)),
        WaitingGroup(R.WINDOW_CLOSED, 2, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)),
        WaitingGroup(R.CONCURRENCY, 1, None),  # 10:00 in Vladivostok
    ]


BALANCE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], datetime, Waiting]] = [
    ("inside the window: the money", LAW, {}, WED_1200_MSK, Waiting(R.BALANCE_LOW, None)),
    (
        "the window still decides when it is shut",
        LAW,
        {},
        WED_0300_MSK,
        Waiting(R.WINDOW_CLOSED, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)),
    ),
    (
        "a redial ahead keeps its time",
        LAW,
        {"status": "scheduled", "next_attempt_at": LATER, "waiting_reason": "redial_delay"},
        WED_1200_MSK,
        Waiting(R.REDIAL_DELAY, LATER),
    ),
    (
        "paused stays paused",
        {"status": "paused"},
        {},
        WED_1200_MSK,
        Waiting(R.CAMPAIGN_PAUSED, None),
    ),
    ("being dialed", LAW, {"status": "dialing"}, WED_1200_MSK, Waiting(None, None)),
]


@pytest.mark.parametrize(
    ("campaign", "contact", "now", "expected"),
    [case[1:] for case in BALANCE_CASES],
    ids=[case[0] for case in BALANCE_CASES],
)
def test_a_closed_balance_gate_is_the_reason_of_contacts_due_in_an_open_window(
    campaign: dict[str, Any], contact: dict[str, Any], now: datetime, expected: Waiting
) -> None:
    row = make_contact(**({"status": "pending"} | contact))
    reasons = WaitingReasons(make_campaign(**campaign), now, balance_low=True)
    assert reasons.of_contact(row) == expected
    at = row.next_attempt_at
    texts = reasons.columns(
        [row.status],
        [None if at is None else at.strftime("%Y-%m-%dT%H:%M:%SZ")],
        [row.waiting_reason],
        [row.timezone],
    )
    assert texts[0] == [None if expected.reason is None else expected.reason.value]
