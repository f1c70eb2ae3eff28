"""Claims honour the callee's own zone: from the numbering plan, or every zone when unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import cycle
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import pace as pace_db
from campaigns.db import write_transaction
from campaigns.importer import import_contacts
from campaigns.policy import window_of
from campaigns.tables import Campaign, Contact
from campaigns.windows import UNKNOWN_ZONE, CallingWindow
from dialer.telecom.numbering_zones import _FINER, _SUBJECTS, RUSSIAN_ZONES
from tests.db_fixtures import insert_campaign, insert_contacts

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
PRIMORYE_MOBILES = (
    "79011340000",  # DEF 901-134: Приморский край in the newer partial DEF-9xx file
    "79147000000",  # DEF 914-700: Приморский край in the 2015 registry files
)
EVENING = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # Wed 21:00 Moscow, Thu 04:00 Vladivostok
NIGHT = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # Thu 01:00 Moscow, 08:00 Vladivostok
EVERY_ZONE = sorted({zone for _, zone in (*_SUBJECTS, *_FINER)})


async def claim_now(sessions: Sessions, campaign_id: int, now: datetime) -> list[int]:
    """One pacer round for the campaign: its open zones, the due contacts, the claims."""
    async with write_transaction(sessions) as session:
        campaign = await session.get_one(Campaign, campaign_id)
        zones = pace_db.open_zones(campaign, await pace_db.contact_zones(session, campaign_id), now)
        due = await pace_db.due_contacts(session, campaign_id, zones, now, 100)
        return [c.contact_id for c in await pace_db.claim(session, due, now)]


@pytest.mark.parametrize("number", PRIMORYE_MOBILES)
async def test_a_primorye_mobile_waits_for_eight_in_vladivostok(
    sessions: Sessions, number: str
) -> None:
    cid = await insert_campaign(sessions, window={}, message="Hi")  # default settings
    await import_contacts(sessions, cid, [{"phone": number}])
    async with sessions() as session:
        (contact,) = (await session.scalars(select(Contact))).all()
    assert (contact.timezone, contact.region) == ("Asia/Vladivostok", "Приморский край")
    assert await claim_now(sessions, cid, EVENING) == []
    assert await claim_now(sessions, cid, NIGHT) == [contact.id]


async def test_an_unknown_zone_is_claimed_only_while_every_zone_is_open(sessions: Sessions) -> None:
    cid = await insert_campaign(sessions, window={})
    (unknown,) = await insert_contacts(sessions, cid, [1], status="pending", timezone=UNKNOWN_ZONE)
    wednesday = datetime(2026, 11, 25, tzinfo=UTC)
    for hour in (5, 10, 18, 22):  # 08:00-22:00 is not open in all eleven zones at these
        assert await claim_now(sessions, cid, wednesday + timedelta(hours=hour)) == []
    assert await claim_now(sessions, cid, wednesday + timedelta(hours=6)) == [unknown]


def _inside(window: CallingWindow, zone: str, now: datetime) -> bool:
    """The oracle, apart from campaigns.windows: local clock time within that day's span."""
    local = now.astimezone(ZoneInfo(zone))
    span = window.span_on(local.date())
    return span.start <= local.hour * 60 + local.minute < span.end


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zones=st.lists(st.sampled_from([*EVERY_ZONE, UNKNOWN_ZONE]), min_size=1, max_size=12),
    start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 29), timezones=st.just(UTC)),
    steps=st.lists(st.integers(15, 59), min_size=1, max_size=20),
    hours=st.sampled_from([(8, 22, 9, 20), (9, 21, 10, 18), (0, 24, 0, 24), (10, 11, 10, 11)]),
)
async def test_no_call_is_claimed_outside_its_callees_window_over_48_hours(
    sessions: Sessions,
    zones: list[str],
    start: datetime,
    steps: list[int],
    hours: tuple[int, int, int, int],
) -> None:
    work_start, work_end, rest_start, rest_end = hours
    spans = {"workdays": [f"{work_start:02d}:00", f"{work_end:02d}:00"]}
    spans["weekends"] = [f"{rest_start:02d}:00", f"{rest_end:02d}:00"]
    cid = await insert_campaign(sessions, window=spans)
    ids = [
        (await insert_contacts(sessions, cid, [n], status="pending", timezone=zone))[0]
        for n, zone in enumerate(zones)
    ]
    zone_of = dict(zip(ids, zones, strict=True))
    async with sessions() as session:
        window = window_of(await session.get_one(Campaign, cid))
    now, claimed, step = start, set(), cycle(steps)
    while now < start + timedelta(hours=48):  # steps of at most an hour: every window is seen
        for contact_id in await claim_now(sessions, cid, now):
            callee = RUSSIAN_ZONES if zone_of[contact_id] == UNKNOWN_ZONE else [zone_of[contact_id]]
            assert all(_inside(window, zone, now) for zone in callee), (zone_of[contact_id], now)
            claimed.add(contact_id)
        now += timedelta(minutes=next(step))
    if hours != (10, 11, 10, 11):  # every known zone's window opened within two days
        assert {i for i in ids if zone_of[i] != UNKNOWN_ZONE} <= claimed
