"""The balance poller against the simulator's JSON-RPC on loopback and the test's Redis."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from arq.connections import ArqRedis

from campaigns.balance import BalanceReading, read_balance
from dialer.shell.redis_server import RedisServer
from tests.dialer.simulator.harness import LOGIN, PASSWORD, start_rig
from tests.loopback_http import serving
from tests.workers.conftest import PacerFactory, WorkerFactory
from tests.workers.support import NOW, Clock, resources_of, settings_for
from workers.balance import BalancePoller
from workers.settings import SETTINGS, on_shutdown, on_startup

ACCOUNT = "100001"
MINUTE = timedelta(minutes=1)


def poller(ctx: dict[str, Any], account: str = ACCOUNT, interval: float = 60) -> BalancePoller:
    res = resources_of(ctx)
    assert res.rpc is not None
    return BalancePoller(res.redis, res.rpc, account, interval)


async def test_a_poll_stores_the_simulators_balance_and_its_time(worker: WorkerFactory) -> None:
    settings = {"mtt_customer_name": ACCOUNT}
    async with worker(
        Clock(NOW), settings, rpc=True, start_balance=123.45, customer_name=ACCOUNT
    ) as (ctx, rig):
        found = await poller(ctx).poll(NOW)
        stored = await read_balance(resources_of(ctx).redis)
        assert rig.sim.state.stats.rpc_requests == 1
    assert found is not None
    assert found.balance == Decimal("123.45")
    assert stored == BalanceReading(Decimal("123.45"), NOW)


async def test_a_failed_poll_keeps_the_last_figure_and_notes_when_it_failed(
    worker: WorkerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {"mtt_customer_name": ACCOUNT}
    async with worker(Clock(NOW), settings, rpc=True, start_balance=50, customer_name=ACCOUNT) as (
        ctx,
        _,
    ):
        await poller(ctx).poll(NOW)
        with caplog.at_level(logging.WARNING, logger="workers.balance"):
            assert await poller(ctx, account="999999").poll(NOW + MINUTE) is None
        stored = await read_balance(resources_of(ctx).redis)
    assert stored == BalanceReading(Decimal("50"), NOW, NOW + MINUTE)
    assert "getCustomerBalance failed, keeping the balance read at" in caplog.text
    assert "This account does not exist" in caplog.text


async def test_workers_poll_once_per_interval_between_them(worker: WorkerFactory) -> None:
    settings = {"mtt_customer_name": ACCOUNT}
    async with worker(Clock(NOW), settings, rpc=True, customer_name=ACCOUNT) as (ctx, rig):
        loops = [asyncio.create_task(poller(ctx, interval=30).run(lambda: NOW)) for _ in range(3)]
        await asyncio.sleep(0.5)
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        assert rig.sim.state.stats.rpc_requests == 1
        stored = await read_balance(resources_of(ctx).redis)
    assert stored == BalanceReading(Decimal("1000"), NOW)


async def test_the_rpc_password_never_reaches_the_log(
    offline: PacerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    token = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    echo = {"code": -32000, "message": "denied", "data": f"Basic {token} / {PASSWORD}"}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "error": echo}).encode()
    async with serving() as server:
        server.answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        async with offline(Clock(NOW), mtt_rpc_url=server.url, mtt_customer_name=ACCOUNT) as ctx:
            with caplog.at_level(logging.DEBUG):
                assert await poller(ctx).poll(NOW) is None
    assert "denied" in caplog.text
    assert PASSWORD not in caplog.text
    assert token not in caplog.text


async def stored_soon(redis: ArqRedis) -> None:
    for _ in range(250):
        if (await read_balance(redis)).balance is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the poller stored no balance within 5 s")


async def test_a_worker_polls_the_balance_only_when_the_account_is_configured(
    db_url: str, redis_server: RedisServer, arq_redis: ArqRedis
) -> None:
    async with start_rig(customer_name=ACCOUNT, start_balance=77) as rig:
        rpc = {"mtt_rpc_url": f"{rig.url}/rpc"}
        for extra, tasks in (
            ({}, ["pacer"]),
            ({"mtt_customer_name": ACCOUNT}, ["pacer", "balance"]),
        ):
            settings = settings_for(rig, db_url, redis_server.url, **(rpc | extra))
            ctx: dict[str, Any] = {"redis": arq_redis, SETTINGS: settings}
            await on_startup(ctx)
            started = resources_of(ctx).tasks
            assert [task.get_name() for task in started] == tasks
            if "balance" in tasks:
                await stored_soon(arq_redis)
            await on_shutdown(ctx)
            assert all(task.cancelled() for task in started)
        assert rig.sim.state.stats.rpc_requests == 1
    assert (await read_balance(arq_redis)).balance == Decimal("77")
