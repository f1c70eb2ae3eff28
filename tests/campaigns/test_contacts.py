from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.contacts import after_prefix, call_contact, get_contact, list_contacts
from campaigns.db import write_transaction
from campaigns.errors import Invalid, NotFound
from campaigns.paging import Page, encode_cursor
from campaigns.tables import Contact
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]


async def all_pages(
    sessions: Sessions, campaign_id: int, limit: int, **filters: str
) -> list[list[str]]:
    """The phones of every page, in order."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        async with sessions() as session:
            page = await list_contacts(session, campaign_id, cursor=cursor, limit=limit, **filters)
        pages.append([contact.phone for contact in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def first_page(sessions: Sessions, campaign_id: int, limit: int) -> Page[Contact]:
    async with sessions() as session:
        return await list_contacts(session, campaign_id, limit=limit)


async def test_get_contact(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    [contact_id] = await insert_contacts(sessions, campaign_id, [1], vars={"name": "Анна"})

    async with sessions() as session:
        contact = await get_contact(session, contact_id)

    assert (contact.campaign_id, contact.phone, contact.vars) == (
        campaign_id,
        phone_of(1),
        {"name": "Анна"},
    )


async def test_get_missing_contact(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound) as caught:
            await get_contact(session, 404)
    assert caught.value.status == 404


async def test_list_pages_in_id_order(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    other = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, [5, 1, 3, 2, 4])
    await insert_contacts(sessions, other, [6, 7])

    pages = await all_pages(sessions, campaign_id, limit=2)

    assert pages == [[phone_of(5), phone_of(1)], [phone_of(3), phone_of(2)], [phone_of(4)]]


async def test_list_of_campaign_without_contacts(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    assert await all_pages(sessions, campaign_id, limit=10) == [[]]


async def test_list_filters_by_status_and_outcome(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, [1, 2], status="pending")
    await insert_contacts(sessions, campaign_id, [3], status="done", outcome="busy")
    await insert_contacts(sessions, campaign_id, [4, 5], status="done", outcome="listened")
    await insert_contacts(sessions, campaign_id, [6], status="scheduled", outcome=None)

    assert await all_pages(sessions, campaign_id, 10, status="pending") == [
        [phone_of(1), phone_of(2)]
    ]
    assert await all_pages(sessions, campaign_id, 1, outcome="listened") == [
        [phone_of(4)],
        [phone_of(5)],
    ]
    assert await all_pages(sessions, campaign_id, 10, status="done", outcome="busy") == [
        [phone_of(3)]
    ]
    assert await all_pages(sessions, campaign_id, 10, status="dialing") == [[]]


async def test_pagination_neither_skips_nor_repeats_under_inserts_and_updates(
    sessions: Sessions,
) -> None:
    campaign_id = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, range(1, 7))
    first = await first_page(sessions, campaign_id, limit=3)

    await insert_contacts(sessions, campaign_id, [7, 8])
    async with write_transaction(sessions) as session:
        await session.execute(
            update(Contact).where(Contact.campaign_id == campaign_id).values(status="done")
        )
    rest: list[str] = []
    cursor = first.next_cursor
    while cursor is not None:
        async with sessions() as session:
            page = await list_contacts(session, campaign_id, cursor=cursor, limit=3)
        rest += [contact.phone for contact in page.items]
        cursor = page.next_cursor

    assert [contact.phone for contact in first.items] + rest == [phone_of(n) for n in range(1, 9)]


@pytest.mark.parametrize(
    ("status", "outcome", "cursor", "limit", "field"),
    [
        ("finished", None, None, 10, "status"),
        (None, "great", None, 10, "outcome"),
        (None, None, "bm9wZQ", 10, "cursor"),
        (None, None, encode_cursor("79100000001"), 10, "cursor"),  # a DNC list's cursor
        (None, None, None, 0, "limit"),
        (None, None, None, 1001, "limit"),
    ],
)
async def test_list_refuses_bad_filters(
    sessions: Sessions,
    status: str | None,
    outcome: str | None,
    cursor: str | None,
    limit: int,
    field: str,
) -> None:
    campaign_id = await insert_campaign(sessions)
    async with sessions() as session:
        with pytest.raises(Invalid) as caught:
            await list_contacts(
                session, campaign_id, status=status, outcome=outcome, cursor=cursor, limit=limit
            )
    assert caught.value.field == field


async def test_list_of_missing_campaign(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await list_contacts(session, 404)


async def test_call_contact(sessions: Sessions) -> None:
    call_id = await insert_campaign(sessions, kind="call")
    [contact_id] = await insert_contacts(sessions, call_id, [1])

    async with sessions() as session:
        contact = await call_contact(session, call_id)

    assert contact.id == contact_id


async def test_call_contact_is_only_for_calls(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions, kind="campaign")
    await insert_contacts(sessions, campaign_id, [1])
    async with sessions() as session:
        for missing in (campaign_id, campaign_id + 1):
            with pytest.raises(NotFound, match=f"call {missing} does not exist"):
                await call_contact(session, missing)


@pytest.mark.parametrize(
    ("typed", "phones"),
    [
        ("0000012", ["79100000012", "79100000120", "79100000121"]),  # digits anywhere
        ("12", ["79100000012", "79100000120", "79100000121", "79100001200"]),
        ("8 (910) 000-01", ["79100000120", "79100000121"]),  # a whole number's start, 8 → 7
        ("+7 910 000 0012", ["79100000012"]),
        ("7910000012", ["79100000120", "79100000121"]),
        ("9100000012", ["79100000012"]),  # ten digits: the whole national number
        ("-00001-2-", ["79100000012", "79100000120", "79100000121", "79100001200"]),
        ("555", []),
    ],
)
async def test_search_by_number(sessions: Sessions, typed: str, phones: list[str]) -> None:
    campaign_id = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, [12, 120, 121, 1200, 7])

    async with sessions() as session:
        page = await list_contacts(session, campaign_id, number=typed)

    assert [contact.phone for contact in page.items] == phones


async def test_search_pages_in_number_order_with_filters(sessions: Sessions) -> None:
    campaign_id = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, [30, 10, 20, 40], status="done", outcome="busy")
    await insert_contacts(sessions, campaign_id, [50], status="pending")

    pages = await all_pages(sessions, campaign_id, 2, number="0", status="done", outcome="busy")

    assert pages == [[phone_of(10), phone_of(20)], [phone_of(30), phone_of(40)]]


@pytest.mark.parametrize("typed", ["", " - ", "abc", "٣٣"])
async def test_search_without_digits_names_the_field(sessions: Sessions, typed: str) -> None:
    campaign_id = await insert_campaign(sessions)
    async with sessions() as session:
        with pytest.raises(Invalid) as caught:
            await list_contacts(session, campaign_id, number=typed)
    assert caught.value.field == "number"


@pytest.mark.parametrize(
    ("digits", "beyond"),
    [("7916", "7917"), ("7919", "792"), ("7999", "8"), ("999", None), ("70", "71")],
)
def test_after_prefix(digits: str, beyond: str | None) -> None:
    assert after_prefix(digits) == beyond
