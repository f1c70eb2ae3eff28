"""What the API shows of the balance gate, from the hash the workers' poller keeps in Redis:
`/metrics`, the console's overview and campaign page, the contacts export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from api.metrics import ServiceMetrics
from api.resources import app_resources
from campaigns.balance import store_balance
from dialer.settings import Settings
from tests.api.console.support import add_user, signed_in
from tests.api.support import AUTH, Sessions, with_api_keys
from tests.api.test_health import samples
from tests.db_fixtures import insert_campaign, insert_contacts


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The balance gate configured (nothing listens at the URL: the API only reads Redis)."""
    gate = {"mtt_rpc_url": "http://127.0.0.1:9/rpc", "mtt_customer_name": "100001"}
    return with_api_keys(api_settings).model_copy(update=gate | {"min_balance": Decimal(10)})


async def test_metrics_show_the_last_balance_and_when_it_was_read(
    app: FastAPI, redis_client: aioredis.Redis
) -> None:
    read_at = datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC)
    await store_balance(redis_client, Decimal("1234.56"), read_at)
    text = await ServiceMetrics(min_interval=0).render(app_resources(app), datetime.now(UTC))
    values = samples(text.decode())
    assert values[("dialer_mtt_balance", ())] == 1234.56
    assert values[("dialer_mtt_balance_read_timestamp_seconds", ())] == read_at.timestamp()


async def test_the_overview_shows_the_figure_and_says_calls_are_stopped(
    app: FastAPI, client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    read_at = datetime.now(UTC) - timedelta(minutes=1)
    await store_balance(redis_client, Decimal("9.50"), read_at)
    low = await client.get("/dashboard")
    await store_balance(redis_client, Decimal("10.01"), read_at)
    fine = await client.get("/dashboard")

    zone = ZoneInfo(app_resources(app).settings.default_timezone)
    shown = read_at.astimezone(zone).strftime("%d.%m %H:%M:%S")
    assert '<p class="alert" data-testid="balance">Баланс МТТ:' in low.text
    assert "<b>9.50</b>" in low.text
    assert shown in low.text
    assert "Новые звонки остановлены: баланс не выше минимума (10)." in low.text
    assert '<p class="hint" data-testid="balance">' in fine.text
    assert "<b>10.01</b>" in fine.text
    assert "остановлены" not in fine.text


async def test_the_campaign_page_and_the_export_name_the_balance(
    app: FastAPI, client: httpx.AsyncClient, sessions: Sessions, redis_client: aioredis.Redis
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    campaign_id = await insert_campaign(sessions, status="running")
    await insert_contacts(sessions, campaign_id, [1, 2], status="pending")
    await store_balance(redis_client, Decimal("0"), datetime.now(UTC))

    page = await client.get(f"/campaigns/{campaign_id}")
    export = await client.get(f"/v1/campaigns/{campaign_id}/export", headers=AUTH)

    assert "баланс счёта МТТ не выше допустимого минимума" in page.text
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff")), delimiter=";"))
    assert [row["waiting_reason"] for row in rows] == ["balance_low", "balance_low"]
