from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import dnc, dnc_files
from campaigns.db import write_transaction
from campaigns.errors import Invalid
from campaigns.filereader import ImportRefused
from campaigns.states import DncSource

pytestmark = pytest.mark.any_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def number(n: int) -> str:
    """7916000nnnn; -1 is 79170000000, the first number past them."""
    return "79170000000" if n == -1 else f"7916{n:07d}"


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


@pytest.mark.parametrize(
    ("prefix", "found"),
    [
        ("7916000001", [10, 11]),
        ("8 916 000-001", [10, 11]),
        ("916000001", [10, 11]),
        ("79160000", [1, 10, 11, 99]),
        ("7917", [-1]),
        ("7918", []),
    ],
)
async def test_list_by_prefix(
    sessions: async_sessionmaker[AsyncSession], prefix: str, found: list[int]
) -> None:
    await add_many(sessions, [1, 10, 11, 99])
    await add(sessions, number(-1))

    async with sessions() as session:
        page = await dnc.list_entries(session, prefix=prefix, limit=10)

    assert [entry.phone for entry in page.items] == [number(n) for n in found]


async def test_list_by_prefix_without_digits_names_the_field(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(Invalid) as caught:
            await dnc.list_entries(session, prefix="+")
    assert caught.value.field == "prefix"


async def test_upload_lists_the_file_numbers_with_a_report(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add(sessions, number(2), DncSource.MANUAL, "asked by phone")
    data = "Телефон;комментарий\n8 916 000-00-01;a\n+7 916 000 0002;b\n12345;c\n79160000001;d\n"

    report = await dnc_files.upload(
        sessions, data.encode("cp1251"), now=NOW, reason="CRM export", filename="list.csv"
    )

    assert (report.rows, report.added, report.already_listed, report.duplicates) == (4, 1, 1, 1)
    assert report.rejected_count == 1
    assert [(r.line, r.column, r.value) for r in report.rejected] == [(4, "Телефон", "12345")]
    async with sessions() as session:
        new, old = await dnc.check(session, number(1)), await dnc.check(session, number(2))
    assert new is not None
    assert (new.source, new.reason) == ("import", "CRM export")
    assert old is not None
    assert (old.source, old.reason) == ("manual", "asked by phone")


async def test_upload_of_an_unreadable_file_stores_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ImportRefused) as caught:
        await dnc_files.upload(sessions, b"name\nAnna\n", now=NOW)

    assert caught.value.reason == "no_phone_column"
    async with sessions() as session:
        assert (await dnc.list_entries(session)).items == []


async def test_csv_streams_every_entry_by_number(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dnc_files, "CSV_PAGE", 2)
    await add_many(sessions, [3, 1, 2])
    await add(sessions, number(4), DncSource.DTMF, 'нажал 9, "стоп"')

    chunks = [chunk async for chunk in dnc_files.csv_chunks(sessions)]

    assert len(chunks) == 3
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[0] == ["phone", "source", "reason", "added_at"]
    assert [row[0] for row in rows[1:]] == [number(n) for n in (1, 2, 3, 4)]
    assert rows[4] == [number(4), "dtmf", 'нажал 9, "стоп"', "2026-03-02T09:00:00Z"]
