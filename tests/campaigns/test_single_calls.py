"""Single calls: a one-contact campaign of kind call, started at once, idempotent by key."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import dnc
from campaigns.db import write_transaction
from campaigns.errors import Conflict, Invalid, NotFound
from campaigns.single_calls import CallCreated, CallSpec, create_call, get_call
from campaigns.states import DncSource
from campaigns.tables import Callback, Campaign
from tests.factories import T0

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]


def spec(**fields: Any) -> CallSpec:
    values: dict[str, Any] = {
        "phone": "+7 (910) 123-45-67",
        "message": "Здравствуйте, {name}!",
        "vars": {"name": "Анна"},
    }
    return CallSpec.model_validate(values | fields)


async def make(
    sessions: Sessions, call: CallSpec, key: str | None = None, a_number: str | None = None
) -> CallCreated:
    async with write_transaction(sessions) as session:
        return await create_call(session, call, key=key, now=T0, default_a_number=a_number)


async def campaigns(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Campaign)) or 0)


async def test_a_call_is_a_running_one_contact_campaign(sessions: Sessions, backend: str) -> None:
    made = await make(sessions, spec(timezone="Asia/Yekaterinburg"))
    assert made.created
    assert (made.campaign.kind, made.campaign.status, made.campaign.started_at) == (
        "call",
        "running",
        T0,
    )
    assert (made.campaign.name, made.campaign.message) == ("single call", "Здравствуйте, {name}!")
    contact = made.contact
    assert (contact.phone, contact.vars, contact.status) == (
        "79101234567",
        {"name": "Анна"},
        "pending",
    )
    assert contact.timezone == "Asia/Yekaterinburg"
    async with sessions() as session:
        view = await get_call(session, made.campaign.id, now=T0)
    assert (view.contact.id, view.attempts) == (contact.id, [])


async def test_the_zone_is_derived_from_the_number(sessions: Sessions, backend: str) -> None:
    made = await make(sessions, spec(phone="73433000000"))
    assert made.contact.timezone == "Asia/Yekaterinburg"


async def test_a_key_makes_the_call_once(sessions: Sessions, backend: str) -> None:
    first = await make(sessions, spec(), key="k-1")
    again = await make(sessions, spec(phone="9101234567"), key="k-1")
    assert (first.created, again.created) == (True, False)
    assert (again.campaign.id, again.contact.id) == (first.campaign.id, first.contact.id)
    assert again.campaign.idempotency_key == "k-1"
    assert await campaigns(sessions) == 1


@pytest.mark.parametrize(
    "other",
    [
        spec(phone="79107654321"),
        spec(vars={"name": "Борис"}),
        spec(message="Привет, {name}!"),
        spec(max_attempts=1),
    ],
)
async def test_a_key_with_another_call_is_a_conflict(
    sessions: Sessions, backend: str, other: CallSpec
) -> None:
    first = await make(sessions, spec(), key="k")
    with pytest.raises(Conflict) as raised:
        await make(sessions, other, key="k")
    assert raised.value.details == {"id": first.campaign.id}
    assert await campaigns(sessions) == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (spec(phone="12345"), "phone"),
        (spec(phone="abc"), "phone"),
        (spec(vars={}), "vars"),
        (spec(message="{unknown}"), "vars"),
        (spec(timezone="Nowhere/City"), "timezone"),
        (spec(vars={"phone": "x"}), "vars"),
        (spec(dtmf=[{"digit": 1, "action": "notify"}]), "a_number"),
    ],
)
async def test_refused_calls_name_the_field_and_store_nothing(
    sessions: Sessions, backend: str, call: CallSpec, field: str
) -> None:
    with pytest.raises(Invalid) as raised:
        await make(sessions, call)
    assert raised.value.field == field
    assert await campaigns(sessions) == 0


async def test_the_service_caller_id_serves_a_menu(sessions: Sessions, backend: str) -> None:
    made = await make(
        sessions, spec(dtmf=[{"digit": 1, "action": "notify"}]), a_number="74950000000"
    )
    assert made.campaign.status == "running"


@pytest.mark.parametrize("key", ["", "x" * 201])
async def test_keys_must_be_1_to_200_characters(sessions: Sessions, backend: str, key: str) -> None:
    with pytest.raises(Invalid) as raised:
        await make(sessions, spec(), key=key)
    assert raised.value.field == "Idempotency-Key"


async def test_a_listed_number_is_settled_dnc_and_reported(
    sessions: Sessions, backend: str
) -> None:
    async with write_transaction(sessions) as session:
        await session.run_sync(dnc.add, "79101234567", source=DncSource.API, now=T0)
    made = await make(sessions, spec(crm_callback_url="https://crm.example/hook"))
    assert (made.contact.status, made.contact.outcome, made.campaign.status) == (
        "done",
        "dnc",
        "running",
    )
    async with sessions() as session:
        keys = (await session.scalars(select(Callback.dedup_key))).all()
    assert len(made.callbacks) == 1
    assert keys == [f"outcome:{made.contact.id}"]


async def test_a_call_whose_window_has_ended_is_refused(sessions: Sessions, backend: str) -> None:
    schedule = {"end_at": "2020-01-01T00:00:00Z"}
    with pytest.raises(Conflict):
        await make(sessions, spec(schedule=schedule))
    assert await campaigns(sessions) == 0


async def test_a_start_in_the_future_schedules_the_call(sessions: Sessions, backend: str) -> None:
    made = await make(sessions, spec(schedule={"start_at": "2099-01-01T00:00:00Z"}))
    assert made.campaign.status == "scheduled"


async def test_unknown_calls_and_campaign_ids_are_not_found(
    sessions: Sessions, backend: str
) -> None:
    async with write_transaction(sessions) as session:
        session.add(Campaign(name="c", message="m", kind="campaign", created_at=T0, updated_at=T0))
    async with sessions() as session:
        for call_id in (1, 99):
            with pytest.raises(NotFound):
                await get_call(session, call_id, now=T0)


@pytest.mark.parametrize("body", [{"message": "m"}, {"phone": "79101234567"}, {"phone": None}])
def test_the_body_needs_phone_and_message(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CallSpec.model_validate(body)
