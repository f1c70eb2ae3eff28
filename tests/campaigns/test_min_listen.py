"""A campaign's own listening threshold (`min_listen_seconds`): validated by name, carried by
`policy_of`, and used wherever a call of the campaign is classified."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.apply import apply_event, load_calls
from campaigns.db import write_transaction
from campaigns.policy import policy_of
from campaigns.settings_rows import row_values, settings_of
from campaigns.spec import CampaignPatch, CampaignSettings, invalid, merge
from campaigns.tables import Attempt, Campaign, Contact
from dialer.telecom.events import MttEvent, parse_body
from dialer.telecom.redial import RedialPolicy
from tests.factories import T0, campaign_body, insert_call, make_campaign

PHONE = "79103880489"
NOW = T0 + timedelta(minutes=2)
Sessions = async_sessionmaker[AsyncSession]


def settings(**fields: Any) -> CampaignSettings:
    return CampaignSettings.model_validate(campaign_body(**fields))


@pytest.mark.parametrize(
    ("value", "stored"),
    [(None, None), (0, 0), (1, 1), (15, 15), ("15", 15), (3600, 3600)],
)
def test_a_valid_threshold_is_stored_and_read_back(value: Any, stored: int | None) -> None:
    """Below the service's threshold is allowed (a 1 s floor for a short message)."""
    spec = settings(min_listen_seconds=value)

    assert spec.min_listen_seconds == stored
    assert settings_of(Campaign(**row_values(spec))).min_listen_seconds == stored


def test_a_body_without_the_field_follows_the_service() -> None:
    assert settings().min_listen_seconds is None


BAD = [
    (-1, "greater than or equal to 0"),
    (3601, "less than or equal to 3600"),
    (2.5, "valid integer"),
    ("десять", "valid integer"),
    ([10], "valid integer"),
    (False, "not true or false"),
    (True, "not true or false"),
]


@pytest.mark.parametrize(("value", "words"), BAD)
def test_a_bad_threshold_is_refused_by_name(value: Any, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(min_listen_seconds=value)

    error = invalid(caught.value)
    assert (error.field, words in error.message) == ("min_listen_seconds", True), error.message


@pytest.mark.parametrize(
    ("current", "patch", "after"),
    [
        (None, {"min_listen_seconds": 15}, 15),
        (15, {"min_listen_seconds": 5}, 5),
        (15, {"min_listen_seconds": None}, None),
        (15, {"name": "Renamed"}, 15),
        (None, {}, None),
    ],
)
def test_a_merge_patch_sets_keeps_or_resets_the_threshold(
    current: int | None, patch: dict[str, Any], after: int | None
) -> None:
    merged = merge(settings(min_listen_seconds=current), CampaignPatch.model_validate(patch))

    assert merged.min_listen_seconds == after


@pytest.mark.parametrize(("value", "words"), BAD)
def test_a_bad_patch_is_refused_by_name(value: Any, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CampaignPatch.model_validate({"min_listen_seconds": value})

    error = invalid(caught.value)
    assert (error.field, words in error.message) == ("min_listen_seconds", True), error.message


@pytest.mark.parametrize(
    ("service", "campaign", "effective"),
    [(3, None, 3), (3, 15, 15), (3, 0, 0), (20, 5, 5), (20, None, 20)],
)
def test_policy_of_carries_the_campaigns_threshold_over_the_services(
    service: int, campaign: int | None, effective: int
) -> None:
    base = RedialPolicy(min_listen_seconds=service)
    policy = policy_of(make_campaign(min_listen_seconds=campaign, max_attempts=5), base)

    assert policy.min_listen_seconds == effective
    assert policy.max_attempts == 5
    assert base.min_listen_seconds == service


def hangup(attempt_id: int, seconds: int) -> MttEvent:
    record = f'{{"event": "h_{PHONE}_16_{seconds}", "id": "{attempt_id}", "CallID": "c1"}}'
    (event,) = parse_body(record.encode(), "application/json", {}).events
    return event


async def settle(sessions: Sessions, attempt: Attempt, seconds: int, service: int) -> None:
    event = hangup(attempt.id, seconds)
    async with write_transaction(sessions) as session:
        (call,) = await session.run_sync(load_calls, [event])
        assert call is not None
        base = RedialPolicy(min_listen_seconds=service)
        await session.run_sync(apply_event, event, call, base=base, now=NOW)


async def rows(sessions: Sessions, attempt: Attempt) -> tuple[Attempt, Contact]:
    async with sessions() as session:
        row = await session.get_one(Attempt, attempt.id)
        return row, await session.get_one(Contact, row.contact_id)


@pytest.mark.any_db
@pytest.mark.parametrize(
    ("service", "campaign", "category", "status", "outcome"),
    [
        (3, 15, "hung_up", "scheduled", None),
        (3, 5, "listened", "done", "listened"),
        (3, None, "listened", "done", "listened"),
        (20, 5, "listened", "done", "listened"),
        (20, None, "hung_up", "scheduled", None),
    ],
)
async def test_a_10_second_call_is_settled_by_the_campaigns_threshold(
    sessions: Sessions,
    service: int,
    campaign: int | None,
    category: str,
    status: str,
    outcome: str | None,
) -> None:
    attempt = await insert_call(
        sessions, campaign={"min_listen_seconds": campaign}, contact={"phone": PHONE}
    )

    await settle(sessions, attempt, 10, service)

    row, contact = await rows(sessions, attempt)
    assert (row.category, contact.history) == (category, category)
    assert (contact.status, contact.outcome, contact.listened_seconds) == (status, outcome, 10)
    assert (contact.next_attempt_at is not None) is (status == "scheduled")


@pytest.mark.any_db
@pytest.mark.parametrize(("campaign", "category"), [(15, "hung_up"), (5, "listened")])
async def test_a_late_hangup_of_a_settled_contact_is_classified_by_the_campaign(
    sessions: Sessions, campaign: int, category: str
) -> None:
    """The contact was settled meanwhile: only the attempt's category is written."""
    attempt = await insert_call(
        sessions,
        campaign={"min_listen_seconds": campaign},
        contact={"phone": PHONE, "status": "done", "outcome": "listened"},
    )

    await settle(sessions, attempt, 10, service=3)

    row, contact = await rows(sessions, attempt)
    assert row.category == category
    assert (contact.status, contact.outcome) == ("done", "listened")
