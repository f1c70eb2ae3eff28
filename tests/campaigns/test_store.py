from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import store
from campaigns.db import write_transaction
from campaigns.errors import Conflict, IllegalTransition, Invalid, NotFound
from campaigns.settings_rows import settings_of
from campaigns.spec import CampaignPatch, CampaignSettings
from campaigns.states import CampaignKind, CampaignStatus
from campaigns.tables import Campaign, Contact
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of
from tests.factories import T0

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
S = CampaignStatus
NOW = T0 + timedelta(days=1)
LATER = NOW + timedelta(hours=1)


def settings(**overrides: Any) -> CampaignSettings:
    return CampaignSettings.model_validate(
        {"name": "Order ready", "message": "Hello, {name}!", "a_number": "74950000000"} | overrides
    )


async def create(sessions: Sessions, **overrides: Any) -> Campaign:
    async with write_transaction(sessions) as session:
        return await store.create(session, settings(**overrides), now=NOW)


async def load(sessions: Sessions, campaign_id: int) -> Campaign:
    async with sessions() as session:
        return await store.get(session, campaign_id)


async def statuses(sessions: Sessions, campaign_id: int) -> dict[str, tuple[str, str | None]]:
    """phone → (status, outcome) of the campaign's contacts."""
    async with sessions() as session:
        rows = await session.execute(
            select(Contact.phone, Contact.status, Contact.outcome).where(
                Contact.campaign_id == campaign_id
            )
        )
    return {phone: (status, outcome) for phone, status, outcome in rows}


Act = Callable[[AsyncSession, int, datetime], Awaitable[Campaign]]
ACTIONS: dict[store.Action, Act] = {
    store.Action.START: lambda s, i, now: store.start(s, i, now=now),
    store.Action.PAUSE: lambda s, i, now: store.pause(s, i, now=now, reason="account"),
    store.Action.RESUME: lambda s, i, now: store.resume(s, i, now=now),
    store.Action.CANCEL: lambda s, i, now: store.cancel(s, i, now=now, reason="by user"),
}
RESULT = {
    store.Action.START: S.RUNNING,
    store.Action.PAUSE: S.PAUSED,
    store.Action.RESUME: S.RUNNING,
    store.Action.CANCEL: S.CANCELLED,
}
LEGAL = {
    (store.Action.START, S.DRAFT),
    (store.Action.PAUSE, S.RUNNING),
    (store.Action.PAUSE, S.SCHEDULED),
    (store.Action.RESUME, S.PAUSED),
    (store.Action.CANCEL, S.DRAFT),
    (store.Action.CANCEL, S.SCHEDULED),
    (store.Action.CANCEL, S.RUNNING),
    (store.Action.CANCEL, S.PAUSED),
}


async def act(sessions: Sessions, action: store.Action, campaign_id: int) -> Campaign:
    async with write_transaction(sessions) as session:
        return await ACTIONS[action](session, campaign_id, NOW)


async def test_create_stores_a_draft(sessions: Sessions) -> None:
    created = await create(sessions, max_attempts=5, schedule={"timezone": "Asia/Omsk"})

    campaign = await load(sessions, created.id)
    assert (campaign.kind, campaign.status, campaign.created_at, campaign.updated_at) == (
        "campaign",
        "draft",
        NOW,
        NOW,
    )
    assert (campaign.started_at, campaign.finished_at, campaign.status_reason) == (None,) * 3
    assert settings_of(campaign) == settings(max_attempts=5, schedule={"timezone": "Asia/Omsk"})


async def test_create_a_call(sessions: Sessions) -> None:
    async with write_transaction(sessions) as session:
        call = await store.create(session, settings(), now=NOW, kind=CampaignKind.CALL)
    assert (await load(sessions, call.id)).kind == "call"


async def test_writes_need_a_write_transaction(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, status="draft")
    async with sessions() as session:
        with pytest.raises(RuntimeError, match="write_transaction"):
            await store.create(session, settings(), now=NOW)
        with pytest.raises(RuntimeError, match="write_transaction"):
            await store.start(session, campaign_id, now=NOW)


async def test_get_missing(sessions: Sessions) -> None:
    with pytest.raises(NotFound) as caught:
        await load(sessions, 404)
    assert caught.value.status == 404


async def create_once(sessions: Sessions, key: str, **overrides: Any) -> tuple[Campaign, bool]:
    async with write_transaction(sessions) as session:
        return await store.create_once(
            session, settings(**overrides), key=key, now=NOW, kind=CampaignKind.CALL
        )


async def test_create_once_answers_the_same_key_with_the_same_campaign(
    sessions: Sessions,
) -> None:
    first, created = await create_once(sessions, "crm-1")
    again, created_again = await create_once(sessions, "crm-1")
    other, created_other = await create_once(sessions, "crm-2")

    assert (created, created_again, created_other) == (True, False, True)
    assert again.id == first.id != other.id
    async with sessions() as session:
        keys = await session.execute(select(Campaign.idempotency_key).order_by(Campaign.id))
    assert keys.scalars().all() == ["crm-1", "crm-2"]


async def test_create_once_concurrently(sessions: Sessions) -> None:
    results = await asyncio.gather(*(create_once(sessions, "crm-1") for _ in range(4)))

    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({campaign.id for campaign, _ in results}) == 1


async def test_create_once_refuses_the_key_for_another_request(sessions: Sessions) -> None:
    first, _ = await create_once(sessions, "crm-1")
    with pytest.raises(Conflict) as caught:
        await create_once(sessions, "crm-1", message="Another text")
    assert (caught.value.status, caught.value.details) == (409, {"id": first.id})


async def test_list_newest_first_with_stats(sessions: Sessions) -> None:
    first = await insert_campaign(sessions, status="draft")
    await insert_campaign(sessions, kind="call")
    second = await insert_campaign(sessions, status="running")
    third = await insert_campaign(sessions, status="paused")
    await insert_contacts(sessions, second, [1, 2], status="pending")

    pages: list[list[int]] = []
    cursor = None
    while True:
        async with sessions() as session:
            page = await store.list_campaigns(session, cursor=cursor, limit=2)
        pages.append([summary.campaign.id for summary in page.items])
        if second in pages[-1]:
            assert page.items[pages[-1].index(second)].stats.total == 2
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert pages == [[third, second], [first]]


async def test_list_filters(sessions: Sessions) -> None:
    await insert_campaign(sessions, status="draft")
    running = await insert_campaign(sessions, status="running")
    call = await insert_campaign(sessions, kind="call", status="running")

    async with sessions() as session:
        by_status = await store.list_campaigns(session, status=S.RUNNING)
        calls = await store.list_campaigns(session, kind=CampaignKind.CALL)
        with pytest.raises(Invalid):
            await store.list_campaigns(session, limit=0)

    assert [summary.campaign.id for summary in by_status.items] == [running]
    assert [summary.campaign.id for summary in calls.items] == [call]


@pytest.mark.parametrize("action", list(store.Action))
@pytest.mark.parametrize("status", list(CampaignStatus))
async def test_every_action_from_every_status(
    sessions: Sessions, action: store.Action, status: CampaignStatus
) -> None:
    campaign_id = await insert_campaign(sessions, status=status)

    if (action, status) in LEGAL:
        campaign = await act(sessions, action, campaign_id)
        assert campaign.status == RESULT[action]
        assert (await load(sessions, campaign_id)).status == RESULT[action]
    else:
        with pytest.raises(IllegalTransition) as caught:
            await act(sessions, action, campaign_id)
        assert caught.value.status == 409
        assert caught.value.details == {"status": status.value, "action": action.value}
        assert (await load(sessions, campaign_id)).status == status


def test_the_table_matches_the_design() -> None:
    assert {(a, s) for a, sources in store.ALLOWED.items() for s in sources} == LEGAL
    assert frozenset({S.COMPLETED, S.CANCELLED}) == store.FINAL


@pytest.mark.parametrize("action", list(store.Action))
async def test_actions_on_a_missing_campaign(sessions: Sessions, action: store.Action) -> None:
    with pytest.raises(NotFound):
        await act(sessions, action, 404)


@pytest.mark.parametrize("action", [store.Action.START, store.Action.RESUME])
async def test_start_and_resume_wait_for_start_at(sessions: Sessions, action: store.Action) -> None:
    status = S.DRAFT if action is store.Action.START else S.PAUSED
    campaign_id = await insert_campaign(sessions, status=status, start_at=LATER)

    campaign = await act(sessions, action, campaign_id)

    assert (campaign.status, campaign.started_at) == (S.SCHEDULED, None)


@pytest.mark.parametrize("action", [store.Action.START, store.Action.RESUME])
async def test_start_and_resume_refuse_a_campaign_past_its_end(
    sessions: Sessions, action: store.Action
) -> None:
    status = S.DRAFT if action is store.Action.START else S.PAUSED
    campaign_id = await insert_campaign(sessions, status=status, end_at=NOW)

    with pytest.raises(Conflict) as caught:
        await act(sessions, action, campaign_id)

    assert caught.value.details == {"field": "schedule.end_at"}
    assert (await load(sessions, campaign_id)).status == status


async def test_timestamps_and_reasons_through_a_life(sessions: Sessions) -> None:
    campaign_id = (await create(sessions)).id

    async def step(action: store.Action, now: datetime) -> Campaign:
        async with write_transaction(sessions) as session:
            return await ACTIONS[action](session, campaign_id, now)

    started = await step(store.Action.START, NOW)
    paused = await step(store.Action.PAUSE, NOW + timedelta(minutes=1))
    resumed = await step(store.Action.RESUME, NOW + timedelta(minutes=2))
    cancelled = await step(store.Action.CANCEL, NOW + timedelta(minutes=3))

    assert [(c.status, c.status_reason) for c in (started, paused, resumed, cancelled)] == [
        (S.RUNNING, None),
        (S.PAUSED, "account"),
        (S.RUNNING, None),
        (S.CANCELLED, "by user"),
    ]
    stored = await load(sessions, campaign_id)
    assert (stored.started_at, stored.finished_at, stored.updated_at) == (
        NOW,
        NOW + timedelta(minutes=3),
        NOW + timedelta(minutes=3),
    )


async def test_cancel_closes_the_waiting_contacts(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, status="running")
    other = await insert_campaign(sessions, status="running")
    await insert_contacts(sessions, campaign_id, [1], status="pending")
    await insert_contacts(sessions, campaign_id, [2], status="scheduled", next_attempt_at=LATER)
    await insert_contacts(sessions, campaign_id, [3], status="dialing")
    await insert_contacts(sessions, campaign_id, [4], status="done", outcome="listened")
    await insert_contacts(sessions, other, [5], status="pending")

    await act(sessions, store.Action.CANCEL, campaign_id)

    assert await statuses(sessions, campaign_id) == {
        phone_of(1): ("done", "cancelled"),
        phone_of(2): ("done", "cancelled"),
        phone_of(3): ("dialing", None),
        phone_of(4): ("done", "listened"),
    }
    assert await statuses(sessions, other) == {phone_of(5): ("pending", None)}
    async with sessions() as session:
        due = await session.execute(
            select(Contact.next_attempt_at).where(Contact.phone == phone_of(2))
        )
    assert due.scalar_one() is None


async def test_activate_due(sessions: Sessions) -> None:
    due = await insert_campaign(sessions, status="scheduled", start_at=NOW)
    early = await insert_campaign(sessions, status="scheduled", start_at=LATER)
    resumed = await insert_campaign(
        sessions, status="scheduled", start_at=NOW - timedelta(days=1), started_at=T0
    )
    running = await insert_campaign(sessions, status="running", start_at=NOW)

    async with write_transaction(sessions) as session:
        activated = await store.activate_due(session, now=NOW)

    assert activated == sorted([due, resumed])
    found = {c: await load(sessions, c) for c in (due, early, resumed, running)}
    assert {c: (f.status, f.started_at) for c, f in found.items()} == {
        due: (S.RUNNING, NOW),
        early: (S.SCHEDULED, None),
        resumed: (S.RUNNING, T0),
        running: (S.RUNNING, None),
    }


async def test_any_due_to_start_sees_what_activate_due_would_start(sessions: Sessions) -> None:
    await insert_campaign(sessions, status="scheduled", start_at=LATER)
    await insert_campaign(sessions, status="running", start_at=NOW)
    async with sessions() as session:
        assert not await store.any_due_to_start(session, now=NOW)
    await insert_campaign(sessions, status="scheduled", start_at=NOW)
    async with sessions() as session:
        assert await store.any_due_to_start(session, now=NOW)


async def test_discard_deletes_the_campaign_and_its_contacts(sessions: Sessions) -> None:
    kept, discarded = await insert_campaign(sessions), await insert_campaign(sessions)
    await insert_contacts(sessions, kept, range(2))
    await insert_contacts(sessions, discarded, range(2, 5))
    async with write_transaction(sessions) as session:
        await store.discard(session, discarded)
    async with sessions() as session:
        left = await session.execute(select(Contact.campaign_id))
        assert (await session.get(Campaign, discarded), sorted(left.scalars())) == (
            None,
            [kept] * 2,
        )


async def patch(sessions: Sessions, campaign_id: int, changes: dict[str, Any]) -> Campaign:
    async with write_transaction(sessions) as session:
        return await store.patch(
            session, campaign_id, CampaignPatch.model_validate(changes), now=LATER
        )


@pytest.mark.parametrize("status", [S.DRAFT, S.PAUSED])
async def test_patch_while_editable(sessions: Sessions, status: CampaignStatus) -> None:
    campaign_id = (await create(sessions, redial={"busy": [60]})).id
    if status is S.PAUSED:
        await act(sessions, store.Action.START, campaign_id)
        await act(sessions, store.Action.PAUSE, campaign_id)

    await patch(
        sessions,
        campaign_id,
        {"name": "Renamed", "voice": {"speed": 1.5}, "redial": {"busy": None, "no_answer": [60]}},
    )

    campaign = await load(sessions, campaign_id)
    assert settings_of(campaign) == settings(
        name="Renamed", voice={"speed": 1.5}, redial={"no_answer": [60]}
    )
    assert (campaign.status, campaign.updated_at) == (status, LATER)


@pytest.mark.parametrize("status", [S.SCHEDULED, S.RUNNING, S.COMPLETED, S.CANCELLED])
async def test_patch_refused_unless_draft_or_paused(
    sessions: Sessions, status: CampaignStatus
) -> None:
    campaign_id = await insert_campaign(sessions, status=status)
    with pytest.raises(IllegalTransition) as caught:
        await patch(sessions, campaign_id, {"name": "Renamed"})
    assert (caught.value.status, caught.value.details) == (409, {"status": status.value})
    assert (await load(sessions, campaign_id)).name == "Order ready"


async def test_patch_result_must_be_valid(sessions: Sessions) -> None:
    campaign_id = (await create(sessions, schedule={"end_at": LATER})).id

    with pytest.raises(Invalid) as caught:
        await patch(sessions, campaign_id, {"schedule": {"start_at": LATER + timedelta(days=1)}})

    assert (caught.value.field, caught.value.status) == ("schedule", 422)
    assert (await load(sessions, campaign_id)).start_at is None


async def test_patch_missing_campaign(sessions: Sessions) -> None:
    with pytest.raises(NotFound):
        await patch(sessions, 404, {"name": "x"})
