"""DIALER_DEFAULT_TIMEZONE: the zone of a campaign or single call that names none."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from campaigns.tables import Campaign
from dialer.settings import Settings
from tests.api.support import Sessions, authorize, with_api_keys
from tests.factories import campaign_body

HOME = "Asia/Novosibirsk"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings).model_copy(update={"default_timezone": HOME})


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


def _without_zone(body: dict[str, Any]) -> dict[str, Any]:
    schedule = {k: v for k, v in body["schedule"].items() if k != "timezone"}
    return body | {"schedule": schedule}


async def _zone(sessions: Sessions, campaign_id: int) -> str:
    async with sessions() as session:
        zone = await session.scalar(select(Campaign.timezone).where(Campaign.id == campaign_id))
    assert zone is not None
    return zone


@pytest.mark.parametrize(
    ("body", "zone"),
    [
        (_without_zone(campaign_body()), HOME),
        ({k: v for k, v in campaign_body().items() if k != "schedule"}, HOME),
        (campaign_body(), "Europe/Moscow"),
    ],
    ids=["schedule without a zone", "no schedule", "zone named"],
)
async def test_a_campaign_without_a_zone_takes_the_services(
    api: httpx.AsyncClient, sessions: Sessions, body: dict[str, Any], zone: str
) -> None:
    response = await api.post("/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["schedule"]["timezone"] == zone
    assert await _zone(sessions, response.json()["id"]) == zone


async def test_a_single_call_without_a_zone_takes_the_services(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = {"phone": "+7 910 123-45-67", "message": "Здравствуйте!", "a_number": "74950000000"}
    response = await api.post("/v1/calls", json=body)
    assert response.status_code == 201, response.text
    assert await _zone(sessions, response.json()["id"]) == HOME


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd", "x" * 300])
def test_an_unknown_default_zone_is_refused_at_start(zone: str) -> None:
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        Settings(_env_file=None, default_timezone=zone)
