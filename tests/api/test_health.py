"""`/healthz` (database and Redis checks) and `/metrics` (the whole service, from DB and Redis)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.metrics import QUEUE_KEY, ServiceMetrics
from api.resources import app_resources
from campaigns.db import create_engine
from dialer.settings import Settings
from dialer.telecom.limiters import CPS_KEY
from tests.api.conftest import WEBHOOK_TOKEN
from tests.api.support import Sessions, error_of
from tests.db_fixtures import insert_campaign
from tests.factories import T0, insert_call

PHONE = "79101234567"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def dead_redis(app: FastAPI) -> AsyncIterator[None]:
    """The app's Redis client pointed at a port where nothing listens."""
    resources = app_resources(app)
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_timeout=0.5)
    app.state.resources = dataclasses.replace(resources, redis=dead)
    yield
    app.state.resources = resources
    await dead.aclose()


async def test_healthz_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.usefixtures("dead_redis")
async def test_healthz_is_503_when_redis_is_down(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 503
    error = error_of(response)
    assert (error["code"], error["details"]) == (
        "unavailable",
        {"database": "ok", "redis": "unavailable"},
    )


@pytest.fixture
async def dead_database(app: FastAPI) -> AsyncIterator[None]:
    """The app's engine pointed at a PostgreSQL port where nothing listens."""
    resources = app_resources(app)
    dead = create_engine(f"postgresql+asyncpg://dialer:x@127.0.0.1:{free_port()}/dialer")
    app.state.resources = dataclasses.replace(resources, engine=dead)
    yield
    app.state.resources = resources
    await dead.dispose()


@pytest.mark.usefixtures("dead_database")
async def test_healthz_is_503_when_the_database_is_down(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert error_of(response)["details"] == {"database": "unavailable", "redis": "ok"}


async def test_metrics_is_prometheus_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = samples(response.text)
    assert values[("dialer_calls_placed_total", ())] == 0
    assert values[("dialer_dependency_up", (("dependency", "database"),))] == 1
    assert values[("dialer_dependency_up", (("dependency", "redis"),))] == 1


async def test_metrics_show_the_whole_service(
    app: FastAPI, client: httpx.AsyncClient, sessions: Sessions, redis_client: aioredis.Redis
) -> None:
    """Rows and keys as workers would leave them; events through the collector."""
    await insert_call(sessions, state="finished", category="listened", cause=16)
    await insert_call(sessions, state="rejected", responded_at=T0, contact={"phone": "79100000001"})
    await insert_call(
        sessions, state="rejected", responded_at=None, contact={"phone": "79100000002"}
    )
    live = await insert_call(sessions, contact={"phone": PHONE})
    for body in (f"id={live.id}&event=o_{PHONE}", f"id={live.id}&event=h_{PHONE}_16_9", "junk"):
        await client.post(f"/webhooks/mtt/{WEBHOOK_TOKEN}", content=body)
    await redis_client.zadd(QUEUE_KEY, {"job-now": 1, "job-later": 99_999_999_999_999})
    await redis_client.set(CPS_KEY, 10**18)
    metrics = ServiceMetrics(min_interval=0)
    later = datetime.now(UTC) + timedelta(minutes=1)
    values = samples((await metrics.render(app_resources(app), later)).decode())

    assert values[("dialer_calls_placed_total", ())] == 2
    assert values[("dialer_attempts", (("state", "finished"),))] == 2
    assert values[("dialer_sbapi_failures_total", (("kind", "rejected"),))] == 1
    assert values[("dialer_sbapi_failures_total", (("kind", "not_sent"),))] == 1
    assert values[("dialer_call_outcomes_total", (("category", "listened"),))] == 2
    assert values[("dialer_contact_outcomes", (("outcome", "listened"),))] == 1
    assert values[("dialer_events_received_total", (("kind", "originate"),))] == 1
    assert values[("dialer_events_received_total", (("kind", "hangup"),))] == 1
    assert values[("dialer_events_received_total", (("kind", "unparseable"),))] == 1
    assert values[("dialer_queue_jobs", (("state", "ready"),))] == 1
    assert values[("dialer_queue_jobs", (("state", "deferred"),))] == 1
    assert values[("dialer_cps_backlog_seconds", ())] > 1e9
    assert values[("dialer_inbox_deliveries_total", ())] == 3

    await client.post(f"/webhooks/mtt/{WEBHOOK_TOKEN}", content="more junk")
    again = samples((await metrics.render(app_resources(app), later)).decode())
    assert again[("dialer_events_received_total", (("kind", "unparseable"),))] == 2


async def test_events_still_settling_are_counted_next_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.post(f"/webhooks/mtt/{WEBHOOK_TOKEN}", content="junk")
    metrics = ServiceMetrics(min_interval=0)
    key = ("dialer_events_received_total", (("kind", "unparseable"),))
    now = samples((await metrics.render(app_resources(app), datetime.now(UTC))).decode())
    later = datetime.now(UTC) + timedelta(minutes=1)
    after = samples((await metrics.render(app_resources(app), later)).decode())
    assert (now.get(key, 0), after[key]) == (0, 1)


async def test_close_scrapes_share_one_reading(app: FastAPI, client: httpx.AsyncClient) -> None:
    metrics = ServiceMetrics(min_interval=60)
    later = datetime.now(UTC) + timedelta(minutes=1)
    key = ("dialer_events_received_total", (("kind", "unparseable"),))
    first = samples((await metrics.render(app_resources(app), later)).decode())
    await client.post(f"/webhooks/mtt/{WEBHOOK_TOKEN}", content="junk")
    second = samples((await metrics.render(app_resources(app), later)).decode())
    assert (first.get(key, 0), second.get(key, 0)) == (0, 0)
    assert second[("dialer_inbox_deliveries_total", ())] == 1


@pytest.mark.usefixtures("dead_redis")
async def test_metrics_survive_a_redis_outage(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    values = samples(response.text)
    assert values[("dialer_dependency_up", (("dependency", "redis"),))] == 0
    assert values[("dialer_dependency_up", (("dependency", "database"),))] == 1


async def test_two_apps_in_one_process_have_their_own_registries(api_settings: Settings) -> None:
    first, second = create_app(api_settings), create_app(api_settings)
    assert first.state.metrics.registry is not second.state.metrics.registry


async def test_campaigns_paused_by_network_spikes_are_counted(
    app: FastAPI, sessions: Sessions
) -> None:
    metrics = ServiceMetrics(min_interval=0)
    before = samples((await metrics.render(app_resources(app), datetime.now(UTC))).decode())
    await insert_campaign(sessions, network_pauses=2)
    await insert_campaign(sessions, status="paused", network_pauses=1)
    await insert_campaign(sessions)
    after = samples((await metrics.render(app_resources(app), datetime.now(UTC))).decode())
    assert before[("dialer_network_spike_pauses_total", ())] == 0
    assert after[("dialer_network_spike_pauses_total", ())] == 3
