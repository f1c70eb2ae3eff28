"""Compliance presets: the purpose's limits on a campaign, and the debt_collection caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from campaigns.frequency import IN_FLIGHT_RETRY, calendar_periods, debt_capped_until
from campaigns.policy import policy_of
from campaigns.purposes import TRANSACTIONAL_REDIAL, Caps
from campaigns.settings_rows import row_values
from campaigns.spec import CampaignPatch, CampaignSettings, invalid, merge
from campaigns.tables import Campaign
from dialer.telecom.causes import Category
from dialer.telecom.redial import RedialPolicy
from tests.factories import make_campaign

DEBT = "debt_collection"
WED_1600_MSK = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
MSK = "Europe/Moscow"


def campaign(**fields: Any) -> CampaignSettings:
    return CampaignSettings.model_validate({"name": "n", "message": "m"} | fields)


def refusal(**fields: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        campaign(**fields)
    error = invalid(caught.value)
    return error.field, error.message


@pytest.mark.parametrize(
    ("fields", "field", "named"),
    [
        ({"schedule": {"workdays": ["07:30", "22:00"]}}, "schedule", "schedule.workdays"),
        ({"schedule": {"workdays": ["08:00", "22:30"]}}, "schedule", "schedule.workdays"),
        ({"schedule": {"weekends": ["08:00", "20:00"]}}, "schedule", "schedule.weekends"),
        ({"schedule": {"weekends": ["09:00", "21:00"]}}, "schedule", "schedule.weekends"),
        ({"schedule": {"holidays": False}}, "schedule", "schedule.holidays"),
        ({"caps": {"conversations": {"day": 2}}}, "caps.conversations.day", "230-FZ art. 7"),
        ({"caps": {"conversations": {"week": 3}}}, "caps.conversations.week", "at most 2"),
        ({"caps": {"conversations": {"month": 9}}}, "caps.conversations.month", "at most 8"),
        ({"caps": {"voice_messages": {"day": 3}}}, "caps.voice_messages.day", "at most 2"),
        ({"caps": {"voice_messages": {"week": 5}}}, "caps.voice_messages.week", "at most 4"),
        ({"caps": {"voice_messages": {"month": 17}}}, "caps.voice_messages.month", "16"),
    ],
)
def test_debt_collection_refuses_looser_settings_naming_the_field(
    fields: dict[str, Any], field: str, named: str
) -> None:
    found, message = refusal(purpose=DEBT, **fields)
    assert found == field
    assert named in message


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"schedule": {"workdays": ["10:00", "19:00"], "weekends": ["00:00", "00:00"]}},
        {"caps": {"conversations": {"day": 1, "week": 1, "month": 4}}},
    ],
)
def test_debt_collection_takes_the_law_or_stricter(fields: dict[str, Any]) -> None:
    assert campaign(purpose=DEBT, **fields).purpose == DEBT


def test_the_same_window_is_fine_for_other_purposes() -> None:
    wide = {"workdays": ["07:00", "23:00"], "weekends": ["07:00", "23:00"], "holidays": False}
    for purpose in ("informing", "transactional"):
        assert campaign(purpose=purpose, schedule=wide).schedule.workdays == ("07:00", "23:00")


def test_caps_belong_to_debt_collection_only() -> None:
    field, message = refusal(caps={"conversations": {"day": 1}})
    assert (field, "debt_collection" in message) == ("caps", True)


def test_a_patch_to_debt_collection_is_checked() -> None:
    wide = campaign(schedule={"workdays": ["07:00", "22:00"]})
    with pytest.raises(ValidationError) as caught:
        merge(wide, CampaignPatch.model_validate({"purpose": DEBT}))
    assert invalid(caught.value).field == "schedule"


def test_purpose_and_caps_are_stored() -> None:
    value = campaign(purpose=DEBT, caps={"conversations": {"week": 1}})
    row = Campaign(**row_values(value))
    assert row.purpose == DEBT
    assert row.caps is not None
    assert row.caps["conversations"] == {"day": 1, "week": 1, "month": 8}


def test_transactional_redials_sooner_unless_the_campaign_says_otherwise() -> None:
    base = RedialPolicy()
    informing = policy_of(make_campaign(), base)
    transactional = policy_of(make_campaign(purpose="transactional"), base)
    own = policy_of(make_campaign(purpose="transactional", redial={"busy": [60]}), base)
    assert informing.rules[Category.BUSY].delays == (900, 3600)
    assert transactional.rules[Category.BUSY].delays == TRANSACTIONAL_REDIAL["busy"]
    assert own.rules[Category.BUSY].delays == (60,)
    assert own.rules[Category.NO_ANSWER].delays == TRANSACTIONAL_REDIAL["no_answer"]


def test_calendar_periods_are_local() -> None:
    """Wednesday 25 November 2026, 23:00 in Vladivostok (UTC+10)."""
    day, week, month = calendar_periods(
        datetime(2026, 11, 25, 13, 0, tzinfo=UTC), "Asia/Vladivostok"
    )
    assert day == (
        datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
    )
    assert week == (
        datetime(2026, 11, 22, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 14, 0, tzinfo=UTC),
    )
    assert month == (
        datetime(2026, 10, 31, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
    )


DAYS_AGO = [WED_1600_MSK - timedelta(days=days) for days in range(40)]
"""Answered calls each day at 16:00 Moscow going back: today, Tuesday, Monday, Sunday, …"""
THURSDAY = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
DECEMBER = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answered", "in_flight", "caps", "expected"),
    [
        ([], 0, {}, None),
        ([DAYS_AGO[0]], 0, {}, THURSDAY),
        ([DAYS_AGO[1]], 0, {}, None),
        (DAYS_AGO[1:3], 0, {}, NEXT_MONDAY),
        ([DAYS_AGO[1], DAYS_AGO[3]], 0, {}, None),  # Sunday was last week
        ([DAYS_AGO[1]], 0, {"conversations": {"week": 1}}, NEXT_MONDAY),
        ([DAYS_AGO[i] for i in (3, 10, 17, 24)], 0, {}, None),  # four weeks, one a week
        ([DAYS_AGO[i] for i in (3, 4, 10, 11, 17, 18, 23, 24)], 0, {}, DECEMBER),
        ([], 1, {}, WED_1600_MSK + IN_FLIGHT_RETRY),
        ([DAYS_AGO[1]], 1, {}, WED_1600_MSK + IN_FLIGHT_RETRY),
        ([DAYS_AGO[0]], 1, {}, THURSDAY),
    ],
)
def test_debt_capped_until(
    answered: list[datetime], in_flight: int, caps: dict[str, Any], expected: datetime | None
) -> None:
    found = debt_capped_until(answered, in_flight, Caps.model_validate(caps), MSK, WED_1600_MSK)
    assert found == expected
