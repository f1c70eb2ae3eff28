"""The balance gate end to end: the simulator's balance, the poller, the real pacer, the API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from dialer.settings import Settings
from tests.api.support import AUTH, with_api_keys
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.workers.conftest import WorkerFactory
from tests.workers.support import Clock, attempts, resources_of
from workers.balance import BalancePoller
from workers.dial import dial
from workers.pace import Pacer

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
ACCOUNT = "100001"


@asynccontextmanager
async def api(settings: Settings, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API app on the worker's database and Redis, its lifespan run."""
    app = create_app(with_api_keys(settings).model_copy(update={"data_dir": data_dir}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=AUTH
        ) as client:
            yield client


async def reasons(client: httpx.AsyncClient, campaign_id: int) -> list[Any]:
    response = await client.get(f"/v1/campaigns/{campaign_id}/contacts")
    assert response.status_code == 200, response.text
    return [item["waiting_reason"] for item in response.json()["items"]]


async def test_no_call_is_claimed_while_the_money_is_out_and_calls_go_once_it_is_back(
    sessions: Sessions, worker: WorkerFactory, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(datetime.now(UTC))  # the API decides waiting reasons at the real time
    cid = await insert_campaign(sessions)
    await insert_contacts(sessions, cid, range(3), status="pending")
    settings = {"mtt_customer_name": ACCOUNT}
    async with worker(clock, settings, rpc=True, start_balance=0, customer_name=ACCOUNT) as (
        ctx,
        rig,
    ):
        res = resources_of(ctx)
        assert res.rpc is not None
        poller = BalancePoller(res.redis, res.rpc, ACCOUNT, 60)
        pacer = Pacer(res)
        async with api(res.settings, data_dir) as client:
            await poller.poll(clock.now)
            with caplog.at_level(logging.INFO, logger="workers.pace"):
                assert await pacer.tick(clock.now) == []
                assert await pacer.tick(clock.now) == []
            assert await attempts(sessions) == []
            assert caplog.messages == ["MTT balance 0.0 is at or below 0: no new calls"]
            assert await reasons(client, cid) == ["balance_low"] * 3
            summary = (await client.get(f"/v1/campaigns/{cid}/waiting")).json()["items"]
            assert [(g["reason"], g["contacts"]) for g in summary] == [("balance_low", 3)]

            rig.sim.state.balance = 25.0
            await poller.poll(clock.now)
            claimed = await pacer.tick(clock.now)
            assert len(claimed) == 3
            for attempt_id in claimed:
                await dial(ctx, attempt_id)
            assert len(await rig.calls()) == 3
            assert await reasons(client, cid) == [None] * 3
