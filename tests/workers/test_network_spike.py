"""A route that fails every call: the real pacer, dial job and sweeper against the simulator,
whose calls all end with cause 38 (network out of order), pause the campaign once the spike
reaches the threshold, and then no call is placed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.db_fixtures import insert_campaign, insert_contacts
from tests.dialer.simulator.harness import Rig
from tests.workers.conftest import WorkerFactory
from tests.workers.support import Clock, campaign, resources_of
from workers.dial import dial
from workers.pace import Pacer
from workers.sweep import sweep

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
NETWORK_DOWN = {"last_digit": {str(digit): [38] for digit in range(10)}}
SPIKE = {"network_spike_min_calls": 5, "final_event_timeout": 60.0}
"""Five calls make a spike here; calls are settled from MTT's call history a minute on."""


async def round_of_calls(ctx: dict[str, Any], rig: Rig, clock: Clock) -> dict[str, int]:
    """One pacer tick's calls dialed and ended, then the sweep a final-event timeout later
    (their webhooks went elsewhere: the sweep reconciles them from getCallHistory)."""
    claimed = await Pacer(resources_of(ctx)).tick(clock.now)
    for attempt_id in claimed:
        assert (await dial(ctx, attempt_id)).startswith("accepted")
    await rig.calls()
    clock.advance(resources_of(ctx).settings.final_event_timeout + 1)
    return {"claimed": len(claimed)} | await sweep(ctx)


async def test_a_route_failing_every_call_pauses_the_campaign_and_stops_dialing(
    sessions: Sessions, worker: WorkerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(datetime.now(UTC))  # the simulator's history is dated in real time
    campaign_id = await insert_campaign(sessions, max_concurrent=4, updated_at=clock.now)
    await insert_contacts(sessions, campaign_id, range(1, 9), status="pending")
    async with worker(clock, settings=SPIKE, rpc=True, rules=NETWORK_DOWN) as (ctx, rig):
        first = await round_of_calls(ctx, rig, clock)
        assert (first["claimed"], first["reconciled"], first["network_paused"]) == (4, 4, 0)
        assert (await campaign(sessions, campaign_id)).status == "running"

        caplog.set_level(logging.WARNING, logger="workers.sweep")
        second = await round_of_calls(ctx, rig, clock)
        assert (second["claimed"], second["reconciled"], second["network_paused"]) == (4, 4, 1)
        paused = await campaign(sessions, campaign_id)
        assert (paused.status, paused.status_reason, paused.network_pauses) == (
            "paused",
            "network failures: 8 of the last 8 calls (38 ×8); check MTT's route, then resume",
            1,
        )
        (warning,) = [r for r in caplog.records if "network spike" in r.getMessage()]
        assert warning.levelno == logging.WARNING
        assert f"campaign {campaign_id} paused" in warning.getMessage()

        clock.advance(3600)  # every contact's network redial is due
        assert await Pacer(resources_of(ctx)).tick(clock.now) == []
        assert (await sweep(ctx))["network_paused"] == 0
        assert len(await rig.calls()) == 8
    assert (await campaign(sessions, campaign_id)).network_pauses == 1
