"""Why a campaign is not dialing: the pure rule, and the backlog it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import idle, insights
from campaigns.idle import Backlog, Idle, IdleCode
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import T0, make_campaign

HOUR = timedelta(hours=1)
DUE = Backlog(contacts=10, dialing=0, due_zones={"Europe/Moscow": 3})
OFFICE = {"workdays": ["09:00", "18:00"], "weekends": ["09:00", "18:00"], "holidays": False}
EVENING = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
"""21:00 in Moscow (UTC+3), 01:00 next day in Krasnoyarsk (UTC+7), 09:00 in Anchorage (UTC-9)."""


@pytest.mark.parametrize(
    ("campaign", "backlog", "now", "expected"),
    [
        ({"status": "draft"}, DUE, T0, Idle(IdleCode.NOT_STARTED)),
        ({"status": "paused"}, DUE, T0, Idle(IdleCode.PAUSED_BY_USER)),
        (
            {"status": "paused", "status_reason": "sb-api refused the account: 403 blocked"},
            DUE,
            T0,
            Idle(IdleCode.ACCOUNT_REFUSED, detail="403 blocked"),
        ),
        (
            {
                "status": "paused",
                "status_reason": "network failures: 14 of the last 20 calls (38 ×9, 41 ×5); "
                "check MTT's route, then resume",
            },
            DUE,
            T0,
            Idle(IdleCode.NETWORK_SPIKE, detail="14 of 20 calls, causes 38 ×9, 41 ×5"),
        ),
        (
            {"status": "paused", "status_reason": "paused by API"},
            DUE,
            T0,
            Idle(IdleCode.PAUSED_BY_SERVICE, detail="paused by API"),
        ),
        ({"status": "cancelled"}, DUE, T0, Idle(IdleCode.CANCELLED)),
        (
            {"status": "completed", "status_reason": "end date passed"},
            DUE,
            T0,
            Idle(IdleCode.COMPLETED, detail="end date passed"),
        ),
        (
            {"status": "scheduled", "start_at": T0 + HOUR},
            DUE,
            T0,
            Idle(IdleCode.CAMPAIGN_SCHEDULED, until=T0 + HOUR),
        ),
        (
            {"end_at": T0 - HOUR},
            DUE,
            T0,
            Idle(IdleCode.END_DATE_PASSED, until=T0 - HOUR),
        ),
        ({}, Backlog(contacts=0, dialing=0), T0, Idle(IdleCode.NO_CONTACTS)),
        ({}, DUE, T0, None),
        ({}, Backlog(contacts=10, dialing=2), T0, None),
        (
            {},
            Backlog(contacts=10, dialing=0, next_redial=T0 + HOUR),
            T0,
            Idle(IdleCode.NO_CONTACTS_DUE, until=T0 + HOUR),
        ),
        ({}, Backlog(contacts=10, dialing=0), T0, None),
        (
            {"window": OFFICE},
            DUE,
            EVENING,
            Idle(
                IdleCode.WINDOW_CLOSED,
                until=datetime(2026, 11, 26, 6, 0, tzinfo=UTC),
                zone="Europe/Moscow",
            ),
        ),
        (
            {"window": OFFICE},
            Backlog(contacts=10, dialing=0, due_zones={"Europe/Moscow": 1, "America/Anchorage": 1}),
            EVENING,
            None,
        ),
        (
            {"window": OFFICE},
            Backlog(contacts=10, dialing=0, due_zones={"Europe/Moscow": 1, "Asia/Krasnoyarsk": 1}),
            EVENING,
            Idle(
                IdleCode.WINDOW_CLOSED,
                until=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
                zone="Asia/Krasnoyarsk",
            ),
        ),
        (
            {"window": OFFICE, "end_at": EVENING + HOUR},
            DUE,
            EVENING,
            Idle(IdleCode.END_DATE_PASSED, until=EVENING + HOUR),
        ),
    ],
)
def test_why_idle(
    campaign: dict[str, Any], backlog: Backlog, now: datetime, expected: Idle | None
) -> None:
    assert idle.why_idle(make_campaign(**campaign), backlog, now) == expected


@pytest.mark.parametrize(
    ("campaign", "backlog", "now", "expected"),
    [
        ({}, DUE, T0, Idle(IdleCode.BALANCE_LOW)),
        ({}, Backlog(contacts=10, dialing=2), T0, None),
        ({"status": "paused"}, DUE, T0, Idle(IdleCode.PAUSED_BY_USER)),
        (
            {"window": OFFICE},
            DUE,
            EVENING,
            Idle(
                IdleCode.WINDOW_CLOSED,
                until=datetime(2026, 11, 26, 6, 0, tzinfo=UTC),
                zone="Europe/Moscow",
            ),
        ),
        (
            {},
            Backlog(contacts=10, dialing=0, next_redial=T0 + HOUR),
            T0,
            Idle(IdleCode.NO_CONTACTS_DUE, until=T0 + HOUR),
        ),
    ],
    ids=["due in an open window", "calls in flight", "paused", "window shut", "redials ahead"],
)
def test_a_closed_balance_gate_idles_a_campaign_that_would_dial(
    campaign: dict[str, Any], backlog: Backlog, now: datetime, expected: Idle | None
) -> None:
    assert idle.why_idle(make_campaign(**campaign), backlog, now, balance_low=True) == expected


@pytest.mark.any_db
async def test_backlog_reads_due_zones_and_the_next_redial(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, [1, 2], status="pending")
    await insert_contacts(
        sessions,
        campaign_id,
        [3],
        status="scheduled",
        next_attempt_at=T0 - HOUR,
        timezone="Asia/Krasnoyarsk",
    )
    await insert_contacts(sessions, campaign_id, [4], status="scheduled", next_attempt_at=T0 + HOUR)
    await insert_contacts(
        sessions, campaign_id, [5], status="scheduled", next_attempt_at=T0 + 2 * HOUR
    )
    await insert_contacts(sessions, campaign_id, [6], status="dialing")
    await insert_contacts(sessions, campaign_id, [7], status="done", outcome="busy")

    async with sessions() as session:
        stats = (await insights.figures(session, campaign_id, now=T0)).stats
        found = await idle.backlog(session, campaign_id, stats, now=T0)

    assert found == Backlog(
        contacts=7,
        dialing=1,
        due_zones={"Europe/Moscow": 2, "Asia/Krasnoyarsk": 1},
        next_redial=T0 + HOUR,
    )
