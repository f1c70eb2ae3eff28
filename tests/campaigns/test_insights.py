"""The live page's figures and charts, counted by the database from real rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import insights
from campaigns.db import write_transaction
from campaigns.errors import Invalid, NotFound
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import T0, make_attempt

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]


async def attempts_at(
    sessions: Sessions, campaign_id: int, contact_id: int, *at: tuple[timedelta, str | None]
) -> None:
    """One attempt per (offset from T0, category)."""
    async with write_transaction(sessions) as session:
        session.add_all(
            make_attempt(
                contact_id=contact_id,
                campaign_id=campaign_id,
                claimed_at=T0 + offset,
                category=category,
                state="finished",
            )
            for offset, category in at
        )


async def test_figures_count_outcomes_rates_and_the_last_minute(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, started_at=T0 - timedelta(hours=1))
    done = {"status": "done"}
    await insert_contacts(
        sessions, campaign_id, [1], outcome="listened", listened_seconds=40, **done
    )
    await insert_contacts(sessions, campaign_id, [2], outcome="hung_up", listened_seconds=2, **done)
    await insert_contacts(sessions, campaign_id, [3, 4], outcome="busy", **done)
    [dialing] = await insert_contacts(sessions, campaign_id, [5], status="dialing")
    await insert_contacts(sessions, campaign_id, [6], status="pending")
    second = timedelta(seconds=1)
    await attempts_at(
        sessions,
        campaign_id,
        dialing,
        (-61 * second, "busy"),
        (-30 * second, None),
        (0 * second, "listened"),
    )

    async with sessions() as session:
        found = await insights.figures(session, campaign_id, now=T0)

    assert (found.total, found.done, found.answered, found.in_progress) == (6, 4, 2, 1)
    assert found.answer_rate == 0.5
    assert found.average_listened == 21.0
    assert found.calls_last_minute == 2
    assert found.stats.by_outcome == {"busy": 2, "hung_up": 1, "listened": 1}
    histogram = dict(found.histogram)
    assert list(histogram) == list(insights.LISTENED_BUCKETS)
    assert (histogram[0], histogram[30], sum(histogram.values())) == (1, 1, 2)


async def test_figures_of_an_empty_campaign_have_no_rates(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)

    async with sessions() as session:
        found = await insights.figures(session, campaign_id, now=T0)

    assert (found.total, found.answer_rate, found.average_listened) == (0, None, None)
    assert all(count == 0 for _, count in found.histogram)


async def test_figures_of_a_missing_campaign(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await insights.figures(session, 404, now=T0)


@pytest.mark.parametrize(
    ("span", "width"),
    [
        (timedelta(minutes=10), 60),
        (timedelta(hours=3), 60),
        (timedelta(hours=3, minutes=1), 300),
        (timedelta(hours=15), 300),
        (timedelta(days=1), 900),
        (timedelta(days=400), 86400),
    ],
)
def test_bucket_width_keeps_the_points_bounded(span: timedelta, width: int) -> None:
    assert insights.bucket_seconds(span) == width


async def test_timeline_buckets_calls_and_answers_per_minute(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, started_at=T0 - timedelta(minutes=3))
    [contact_id] = await insert_contacts(sessions, campaign_id, [1])
    minute = timedelta(minutes=1)
    await attempts_at(
        sessions,
        campaign_id,
        contact_id,
        (-3 * minute, "busy"),  # the campaign's first second
        (-2 * minute + timedelta(seconds=59), "listened"),
        (-2 * minute + timedelta(seconds=1), "hung_up"),
        (-timedelta(seconds=1), None),
        (-10 * minute, "busy"),  # before the campaign started: not in its timeline
    )

    async with sessions() as session:
        points = await insights.timeline(session, campaign_id, now=T0, span=timedelta(hours=1))

    assert [(p.at, p.calls, p.answers) for p in points] == [
        (T0 - 3 * minute, 1, 0),
        (T0 - 2 * minute, 2, 2),
        (T0 - minute, 1, 0),
        (T0, 0, 0),
    ]


async def test_timeline_keeps_to_the_span(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, started_at=T0 - timedelta(days=2))

    async with sessions() as session:
        points = await insights.timeline(session, campaign_id, now=T0, span=timedelta(hours=3))

    assert len(points) == 181
    assert points[0].at == T0 - timedelta(hours=3)


async def test_timeline_refuses_an_empty_span(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    async with sessions() as session:
        with pytest.raises(Invalid) as caught:
            await insights.timeline(session, campaign_id, now=T0, span=timedelta(0))
    assert caught.value.field == "span"


async def test_timeline_reuses_settled_buckets_and_recounts_the_rest(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, started_at=T0 - timedelta(minutes=20))
    [contact_id] = await insert_contacts(sessions, campaign_id, [1])
    minute = timedelta(minutes=1)
    await attempts_at(sessions, campaign_id, contact_id, (-20 * minute, "busy"), (-minute, "busy"))
    async with sessions() as session:
        earlier = await insights.timeline(session, campaign_id, now=T0, span=timedelta(hours=1))
    # what the earlier answer says of settled minutes stands; fresher ones are counted again
    known = [insights.Point(p.at, p.calls + 10, p.answers + 5) for p in earlier]

    async with sessions() as session:
        points = await insights.timeline(
            session, campaign_id, now=T0, span=timedelta(hours=1), known=known
        )

    settled = 5  # the minutes that ended 15 minutes or more before now: -20 … -16
    assert [(p.calls, p.answers) for p in points[:settled]] == [(11, 5)] + [(10, 5)] * 4
    assert [(p.calls, p.answers) for p in points[settled:]] == [(0, 0)] * 14 + [(1, 0), (0, 0)]


async def test_pulse_reads_what_moves_every_second(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, status="running")
    [dialing, _] = await insert_contacts(sessions, campaign_id, [1, 2], status="dialing")
    await insert_contacts(sessions, campaign_id, [3], status="pending")
    second = timedelta(seconds=1)
    await attempts_at(
        sessions, campaign_id, dialing, (-61 * second, None), (-59 * second, None), (second, None)
    )

    async with sessions() as session:
        found = await insights.pulse(session, campaign_id, now=T0)

    assert found == insights.Pulse(status="running", in_progress=2, calls_last_minute=1)
