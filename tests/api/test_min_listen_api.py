"""A campaign's `min_listen_seconds` through the REST API on SQLite and PostgreSQL: created,
read back, edited and reset to the service's with a merge patch's null."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from campaigns.tables import Campaign
from dialer.settings import Settings
from tests.api.support import Sessions, authorize, create, error_of, with_api_keys
from tests.factories import campaign_body

pytestmark = pytest.mark.any_db


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


async def stored(sessions: Sessions) -> list[int | None]:
    async with sessions() as session:
        return list((await session.scalars(select(Campaign.min_listen_seconds))).all())


async def test_create_read_patch_and_reset(api: httpx.AsyncClient, sessions: Sessions) -> None:
    created = await create(api, min_listen_seconds=15)
    url = f"/v1/campaigns/{created['id']}"
    assert created["min_listen_seconds"] == 15
    assert (await api.get(url)).json()["min_listen_seconds"] == 15
    assert await stored(sessions) == [15]

    edited = await api.patch(url, json={"min_listen_seconds": 1})
    assert edited.status_code == 200, edited.text
    assert edited.json()["min_listen_seconds"] == 1

    kept = await api.patch(url, json={"name": "Renamed"})
    assert kept.json()["min_listen_seconds"] == 1

    reset = await api.patch(url, json={"min_listen_seconds": None})
    assert reset.status_code == 200, reset.text
    assert (await api.get(url)).json()["min_listen_seconds"] is None
    assert await stored(sessions) == [None]


async def test_a_campaign_naming_none_follows_the_service(api: httpx.AsyncClient) -> None:
    body = campaign_body()
    assert "min_listen_seconds" not in body

    created = await api.post("/v1/campaigns", json=body)

    assert created.json()["min_listen_seconds"] is None


def refusal(answer: httpx.Response) -> tuple[int, str]:
    """The status and the details (each failing field's location and message) of an answer."""
    return answer.status_code, str(error_of(answer)["details"])


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-1, "greater than or equal to 0"),
        (3601, "less than or equal to 3600"),
        ("долго", "integer"),
    ],
)
async def test_a_bad_value_is_422_naming_the_field(
    api: httpx.AsyncClient, sessions: Sessions, value: Any, words: str
) -> None:
    status, details = refusal(
        await api.post("/v1/campaigns", json=campaign_body(min_listen_seconds=value))
    )
    assert (status, "min_listen_seconds" in details, words in details) == (422, True, True)
    assert await stored(sessions) == []

    campaign = await create(api, min_listen_seconds=20)
    url = f"/v1/campaigns/{campaign['id']}"
    status, details = refusal(await api.patch(url, json={"min_listen_seconds": value}))
    assert (status, "min_listen_seconds" in details, words in details) == (422, True, True)
    assert (await api.get(url)).json()["min_listen_seconds"] == 20


async def test_a_single_call_takes_the_threshold(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = {
        "phone": "8 (910) 123-45-67",
        "message": "Здравствуйте! Заказ готов.",
        "min_listen_seconds": 12,
    }

    answer = await api.post("/v1/calls", json=body)
    refused = await api.post("/v1/calls", json=body | {"min_listen_seconds": -5})

    assert answer.status_code == 201, answer.text
    assert await stored(sessions) == [12]
    status, details = refusal(refused)
    assert (status, "min_listen_seconds" in details) == (422, True)
    assert "greater than or equal to 0" in details


async def test_the_openapi_document_states_the_range(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("CampaignSpec", "CallSpec", "CampaignPatch"):
        field = schemas[name]["properties"]["min_listen_seconds"]
        assert {"type": "integer", "minimum": 0, "maximum": 3600} in field["anyOf"], name
