"""`/v1/calls`: single CRM calls, and what the Idempotency-Key guarantees."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from campaigns.tables import Campaign, Contact
from dialer.settings import Settings
from tests.api.support import Sessions, authorize, closed_window, error_of, with_api_keys


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


def call_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phone": "8 (910) 123-45-67",
        "message": "Здравствуйте, {name}! Заказ готов.",
        "vars": {"name": "Анна"},
        "voice": {"voice_name": "oksana"},
        "a_number": "74950000000",
        "dtmf": [{"digit": 1, "action": "notify"}],
    }
    return body | fields


async def counts(sessions: Sessions) -> tuple[int, int]:
    async with sessions() as session:
        campaigns = await session.scalar(select(func.count()).select_from(Campaign))
        contacts = await session.scalar(select(func.count()).select_from(Contact))
    return int(campaigns or 0), int(contacts or 0)


async def test_a_call_starts_at_once(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/calls", json=call_body())
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/calls/{body['id']}"
    assert (body["kind"], body["status"], body["contact_status"]) == ("call", "running", "pending")
    assert (body["phone"], body["vars"], body["outcome"], body["calls"]) == (
        "79101234567",
        {"name": "Анна"},
        None,
        [],
    )
    assert (await api.get(f"/v1/calls/{body['id']}")).json() == body


async def test_the_same_key_answers_the_same_call(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    headers = {"Idempotency-Key": "order-17"}
    first = await api.post("/v1/calls", json=call_body(), headers=headers)
    second = await api.post("/v1/calls", json=call_body(), headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert await counts(sessions) == (1, 1)


async def test_concurrent_requests_with_one_key_make_one_call(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    headers = {"Idempotency-Key": "burst"}
    answers = await asyncio.gather(
        *(api.post("/v1/calls", json=call_body(), headers=headers) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await counts(sessions) == (1, 1)


async def test_different_keys_make_different_calls(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    for key in ("a", "b"):
        response = await api.post("/v1/calls", json=call_body(), headers={"Idempotency-Key": key})
        assert response.status_code == 201
    assert await counts(sessions) == (2, 2)


@pytest.mark.parametrize(
    "change",
    [{"phone": "79107654321"}, {"vars": {"name": "Борис"}}, {"message": "Другой {name}"}],
)
async def test_a_key_reused_for_another_call_is_409(
    api: httpx.AsyncClient, sessions: Sessions, change: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "k"}
    assert (await api.post("/v1/calls", json=call_body(), headers=headers)).status_code == 201
    response = await api.post("/v1/calls", json=call_body(**change), headers=headers)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert "Idempotency-Key" in error["message"]
    assert await counts(sessions) == (1, 1)


async def test_a_key_over_200_characters_is_422(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "x" * 201}
    response = await api.post("/v1/calls", json=call_body(), headers=headers)
    assert response.status_code == 422
    assert error_of(response)["details"] == {"field": "Idempotency-Key"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"vars": {}}, "vars"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"voice": {"speed": 9}}, "voice"),
        ({"a_number": None}, "a_number"),
    ],
)
async def test_invalid_calls_are_422_naming_the_field(
    api: httpx.AsyncClient,
    sessions: Sessions,
    api_settings: Settings,
    change: dict[str, Any],
    field: str,
) -> None:
    assert api_settings.a_number is None
    response = await api.post("/v1/calls", json=call_body(**change))
    assert response.status_code == 422, response.text
    assert field in str(error_of(response)["details"])
    assert await counts(sessions) == (0, 0)


async def test_a_number_on_the_dnc_list_is_settled_at_once(api: httpx.AsyncClient) -> None:
    await api.post("/v1/dnc", json={"phone": "79101234567"})
    body = (await api.post("/v1/calls", json=call_body())).json()
    assert (body["contact_status"], body["outcome"], body["calls"]) == ("done", "dnc", [])


async def test_an_unknown_call_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/calls/777")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_a_campaign_id_is_not_a_call(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/v1/campaigns", json={"name": "c", "message": "m", "a_number": "74950000000"}
    )
    assert (await api.get(f"/v1/calls/{created.json()['id']}")).status_code == 404


async def test_a_call_outside_its_window_says_it_waits_for_the_opening(
    api: httpx.AsyncClient,
) -> None:
    zone = ZoneInfo("Asia/Vladivostok")  # the callee's, seven hours ahead of the campaign's
    span, opening = closed_window(zone)
    schedule = {"timezone": "Europe/Moscow", "workdays": span, "weekends": span}
    created = await api.post("/v1/calls", json=call_body(timezone=zone.key, schedule=schedule))
    assert created.status_code == 201, created.text
    read = await api.get(f"/v1/calls/{created.json()['id']}")
    for body in (created.json(), read.json()):
        assert (body["status"], body["contact_status"]) == ("running", "pending")
        assert body["waiting_reason"] == "window_closed"
        assert datetime.fromisoformat(body["next_attempt_at"]) == opening


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [
        (
            {"schedule": {"workdays": ["07:00", "22:00"]}},
            ["body", "schedule"],
            "schedule.workdays: 07:00–22:00 is wider than 230-FZ art. 7 allows",
        ),
        (
            {"caps": {"conversations": {"day": 2}}},
            ["body", "caps", "conversations", "day"],
            "at most 1 under 230-FZ art. 7 part 3",
        ),
    ],
)
async def test_debt_collection_looser_than_the_law_is_422(
    api: httpx.AsyncClient,
    sessions: Sessions,
    change: dict[str, Any],
    loc: list[str],
    message: str,
) -> None:
    response = await api.post("/v1/calls", json=call_body(purpose="debt_collection", **change))
    assert response.status_code == 422, response.text
    (problem,) = error_of(response)["details"]
    assert problem["loc"] == loc
    assert message in problem["msg"]
    assert await counts(sessions) == (0, 0)
