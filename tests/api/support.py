"""Helpers of the REST API tests: the API key, request bodies, reading rows back."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.tables import Campaign
from dialer.settings import Settings
from tests.factories import campaign_body

API_KEY = "test-api-key-0123456789"
OTHER_KEY = "second-api-key-9876543210"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

Sessions = async_sessionmaker[AsyncSession]


def with_api_keys(settings: Settings, *keys: str) -> Settings:
    chosen = keys or (API_KEY, OTHER_KEY)
    return settings.model_copy(update={"api_keys": [SecretStr(key) for key in chosen]})


def authorize(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.headers.update(AUTH)
    return client


def contact(n: int, **fields: Any) -> dict[str, Any]:
    """The n-th inline contact: phone 7910000nnnn with the message's variables."""
    return {"phone": f"+7 910 {n:07d}", "vars": {"name": f"Имя {n}", "order": f"A-{n}"}} | fields


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object of an answer, checked to have the one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    error: dict[str, Any] = body["error"]
    return error


async def campaign_count(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Campaign)) or 0)


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/campaigns", json=campaign_body(**fields))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def started(client: httpx.AsyncClient, contacts: int = 1, **fields: Any) -> dict[str, Any]:
    """A running campaign with `contacts` inline contacts."""
    created = await create(client, contacts=[contact(n) for n in range(contacts)], **fields)
    response = await client.post(f"/v1/campaigns/{created['id']}/start")
    assert response.status_code == 200, response.text
    running: dict[str, Any] = response.json()
    return running


def closed_window(zone: ZoneInfo) -> tuple[list[str], datetime]:
    """A daily window opening one to two hours from now in `zone`, and its opening in UTC."""
    local = datetime.now(zone)
    hour = (local.hour + 2) % 24
    day = local.date() + timedelta(days=1 if hour < local.hour else 0)
    opening = datetime.combine(day, time(hour), zone).astimezone(UTC)
    return [f"{hour:02d}:00", f"{hour + 1:02d}:00"], opening
