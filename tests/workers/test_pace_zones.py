"""The pacer claims an imported mobile only inside its callee's own window (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.importer import import_contacts
from tests.db_fixtures import insert_campaign
from tests.workers.conftest import PacerFactory
from tests.workers.support import Clock, attempts, resources_of
from workers.pace import Pacer

pytestmark = pytest.mark.any_db

EVENING = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # Wed 21:00 Moscow, Thu 04:00 Vladivostok
NIGHT = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # Thu 01:00 Moscow, 08:00 Vladivostok


async def test_a_primorye_mobile_is_claimed_at_eight_its_time_not_at_nine_pm_moscow(
    sessions: async_sessionmaker[AsyncSession], offline: PacerFactory
) -> None:
    cid = await insert_campaign(sessions, window={}, message="Hi")  # default settings
    await import_contacts(sessions, cid, [{"phone": "+7 914 700-00-00"}])  # Приморский край
    async with offline(Clock(EVENING)) as ctx:
        pacer = Pacer(resources_of(ctx))
        assert await pacer.tick(EVENING) == []
        assert await attempts(sessions) == []
        claimed = await pacer.tick(NIGHT)
    assert [(a.id, a.phone, a.claimed_at) for a in await attempts(sessions)] == [
        (claimed[0], "79147000000", NIGHT)
    ]
