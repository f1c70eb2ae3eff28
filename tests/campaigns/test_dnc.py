from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import dnc
from campaigns.db import write_transaction
from campaigns.errors import Invalid
from campaigns.states import DncSource

pytestmark = pytest.mark.any_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def number(n: int) -> str:
    return f"7916{n:07d}"


async def add(
    sessions: async_sessionmaker[AsyncSession],
    phone: str,
    source: DncSource = DncSource.API,
    reason: str | None = None,
    now: datetime = NOW,
) -> bool:
    async with write_transaction(sessions) as session:
        return await session.run_sync(dnc.add, phone, source=source, reason=reason, now=now)


async def add_many(sessions: async_sessionmaker[AsyncSession], numbers: list[int]) -> None:
    for n in numbers:
        await add(sessions, number(n))


async def test_add_then_check(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await add(sessions, "+7 (916) 000-00-01", DncSource.DTMF, "pressed 9")

    async with sessions() as session:
        entry = await dnc.check(session, "89160000001")
    assert entry is not None
    assert (entry.phone, entry.source, entry.reason, entry.added_at) == (
        "79160000001",
        "dtmf",
        "pressed 9",
        NOW,
    )


async def test_add_is_idempotent_and_keeps_the_first_entry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await add(sessions, number(1), DncSource.IMPORT, "first")
    assert not await add(sessions, number(1), DncSource.API, "second", NOW + timedelta(days=1))

    async with sessions() as session:
        entry = await dnc.check(session, number(1))
    assert entry is not None
    assert (entry.source, entry.reason, entry.added_at) == ("import", "first", NOW)


async def test_check_unknown_number(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        assert await dnc.check(session, number(5)) is None


@pytest.mark.parametrize("bad", ["12345", "not a number", ""])
async def test_invalid_number_names_the_field(
    sessions: async_sessionmaker[AsyncSession], bad: str
) -> None:
    with pytest.raises(Invalid) as caught:
        await add(sessions, bad)
    assert caught.value.field == "phone"
    assert caught.value.status == 422


async def test_writes_need_a_write_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(RuntimeError, match="write_transaction"):
            await session.run_sync(dnc.add, number(1), source=DncSource.API, now=NOW)
        with pytest.raises(RuntimeError, match="write_transaction"):
            await dnc.remove(session, number(1))


async def test_remove(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add(sessions, number(1))

    async with write_transaction(sessions) as session:
        assert await dnc.remove(session, "8 916 000-00-01")
    async with write_transaction(sessions) as session:
        assert not await dnc.remove(session, number(1))
    async with sessions() as session:
        assert await dnc.check(session, number(1)) is None


async def test_list_pages_through_every_entry_in_phone_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_many(sessions, [7, 3, 12, 1, 9, 4, 10])

    seen: list[str] = []
    cursor = None
    pages = 0
    async with sessions() as session:
        while True:
            page = await dnc.list_entries(session, cursor=cursor, limit=3)
            seen += [entry.phone for entry in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == [number(n) for n in (1, 3, 4, 7, 9, 10, 12)]
    assert pages == 3


async def test_list_exactly_one_full_page_has_no_next(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_many(sessions, [1, 2])
    async with sessions() as session:
        page = await dnc.list_entries(session, limit=2)
    assert [entry.phone for entry in page.items] == [number(1), number(2)]
    assert page.next_cursor is None


async def test_list_page_stable_under_inserts(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_many(sessions, [1, 2, 3, 4])
    async with sessions() as session:
        first = await dnc.list_entries(session, limit=2)
    await add_many(sessions, [0, 5])  # one before the cursor, one after
    async with sessions() as session:
        second = await dnc.list_entries(session, cursor=first.next_cursor, limit=10)
    assert [entry.phone for entry in second.items] == [number(n) for n in (3, 4, 5)]


@pytest.mark.parametrize(
    ("cursor", "limit", "field"),
    [("garbage!", 10, "cursor"), (None, 0, "limit"), (None, 1001, "limit")],
)
async def test_list_refuses_bad_paging(
    sessions: async_sessionmaker[AsyncSession], cursor: str | None, limit: int, field: str
) -> None:
    async with sessions() as session:
        with pytest.raises(Invalid) as caught:
            await dnc.list_entries(session, cursor=cursor, limit=limit)
    assert caught.value.field == field


async def test_bulk_filter_finds_listed_numbers(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_many(sessions, [2, 4, 6])
    async with sessions() as session:
        blocked = await dnc.bulk_filter(
            session, [number(n) for n in (1, 2, 2, 3, 4, 5)] + [number(4)]
        )
    assert blocked == {number(2), number(4)}


async def test_bulk_filter_of_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_many(sessions, [1])
    async with sessions() as session:
        assert await dnc.bulk_filter(session, []) == set()


async def test_bulk_filter_spans_chunks(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dnc, "BULK_CHUNK", 3)
    listed = [0, 4, 5, 9, 13]
    await add_many(sessions, listed)
    async with sessions() as session:
        assert await dnc.bulk_filter(session, map(number, range(15))) == set(map(number, listed))
