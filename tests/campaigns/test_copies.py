"""New drafts from a campaign: its settings, and the contacts it did not reach."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import copies, dnc
from campaigns.copies import CopyContacts
from campaigns.db import write_transaction
from campaigns.errors import NotFound
from campaigns.settings_rows import settings_of
from campaigns.states import DncSource, Outcome
from campaigns.tables import Campaign, Contact
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of
from tests.factories import T0

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
NOT_COPIED = sorted(set(Outcome) - copies.UNREACHED)


async def source_campaign(sessions: Sessions) -> int:
    """One done contact per outcome (number = its index), one pending and one dialing."""
    campaign_id = await insert_campaign(
        sessions, status="completed", redial={"busy": [60]}, var_columns=["name"]
    )
    for n, outcome in enumerate(Outcome):
        await insert_contacts(
            sessions,
            campaign_id,
            [n],
            status="done",
            outcome=outcome,
            attempts=3,
            listened_seconds=7,
            dtmf="1",
            history="busy,busy",
            text=f"текст {n}",
        )
    await insert_contacts(sessions, campaign_id, [100], status="pending")
    await insert_contacts(sessions, campaign_id, [101], status="dialing")
    return campaign_id


async def copied_contacts(sessions: Sessions, campaign_id: int) -> list[Contact]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Contact).where(Contact.campaign_id == campaign_id).order_by(Contact.phone)
        )
        return list(rows)


async def test_unreached_copy_holds_exactly_the_unreached_contacts_fresh(
    sessions: Sessions,
) -> None:
    source = await source_campaign(sessions)

    async with write_transaction(sessions) as session:
        copy, count = await copies.copy_campaign(session, source, CopyContacts.UNREACHED, now=T0)
        copy_id = copy.id

    found = await copied_contacts(sessions, copy_id)
    expected = sorted(phone_of(n) for n, o in enumerate(Outcome) if o in copies.UNREACHED)
    assert [c.phone for c in found] == expected
    assert count == len(expected) == 7
    assert {
        (c.status, c.outcome, c.attempts, c.history, c.listened_seconds, c.dtmf) for c in found
    } == {("pending", None, 0, "", 0, "")}
    assert {c.vars["name"] for c in found} == {"Анна"}
    assert all(c.text is not None and c.text.startswith("текст") for c in found)
    assert not {o.value for o in NOT_COPIED} & {"busy", "no_answer", "unavailable", "rejected"}


async def test_copy_keeps_the_settings_in_a_new_draft(sessions: Sessions) -> None:
    source = await source_campaign(sessions)

    async with write_transaction(sessions) as session:
        copy, count = await copies.copy_campaign(session, source, CopyContacts.NONE, now=T0)
        copy_id = copy.id

    async with sessions() as session:
        original = await session.get_one(Campaign, source)
        made = await session.get_one(Campaign, copy_id)
    assert (count, await copied_contacts(sessions, copy_id)) == (0, [])
    assert (made.status, made.name, made.var_columns) == ("draft", "Order ready (копия)", ["name"])
    assert settings_of(made).model_copy(update={"name": original.name}) == settings_of(original)
    assert made.started_at is None


async def test_unreached_copy_leaves_out_numbers_now_on_the_do_not_call_list(
    sessions: Sessions,
) -> None:
    source = await source_campaign(sessions)
    busy = list(Outcome).index(Outcome.BUSY)
    async with write_transaction(sessions) as session:
        await session.run_sync(dnc.add, phone_of(busy), source=DncSource.MANUAL, now=T0)

    async with write_transaction(sessions) as session:
        copy, count = await copies.copy_campaign(session, source, CopyContacts.UNREACHED, now=T0)
        copy_id = copy.id

    assert count == 6
    assert phone_of(busy) not in {c.phone for c in await copied_contacts(sessions, copy_id)}


async def test_copy_of_a_missing_campaign_creates_nothing(sessions: Sessions) -> None:
    with pytest.raises(NotFound):
        async with write_transaction(sessions) as session:
            await copies.copy_campaign(session, 404, CopyContacts.UNREACHED, now=T0)
    async with sessions() as session:
        assert (await session.scalars(select(Campaign))).all() == []
