from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import exporter
from campaigns.db import write_transaction
from campaigns.errors import Invalid, NotFound
from campaigns.exporter import (
    ATTEMPT_COLUMNS,
    CONTACT_COLUMNS,
    XLSX_MAX_COLUMNS,
    escape_cells,
    export_attempts,
    export_contacts,
)
from campaigns.importer import import_file
from campaigns.states import AttemptState, ContactStatus, Outcome
from campaigns.tables import Attempt, Campaign, Contact
from dialer.telecom.causes import cause_text
from tests.campaigns.files import read_csv_export, read_xlsx_export

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5, seconds=7)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+2", "'=1+2"),
        ("+79101234567", "'+79101234567"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Анна", "Анна"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
        (-5, -5),
    ],
)
def test_escape_cells(value: object, shown: object) -> None:
    assert escape_cells([value]) == [shown]


# --- factories -------------------------------------------------------------------------------


async def _campaign(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with write_transaction(sessions) as session:
        campaign = Campaign(name="export", message="{name}", created_at=NOW, updated_at=NOW)
        session.add(campaign)
        await session.flush()
        return campaign.id


async def _contact(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, phone: str, **fields: Any
) -> int:
    values: dict[str, Any] = {"vars": {"name": "Анна", "order": "A-1"}, "timezone": "Europe/Moscow"}
    async with write_transaction(sessions) as session:
        contact = Contact(campaign_id=campaign_id, phone=phone, **(values | fields))
        session.add(contact)
        await session.flush()
        return contact.id


async def _attempt(
    sessions: async_sessionmaker[AsyncSession], contact_id: int, **fields: Any
) -> int:
    async with write_transaction(sessions) as session:
        contact = await session.get_one(Contact, contact_id)
        attempt = Attempt(
            contact_id=contact_id,
            campaign_id=contact.campaign_id,
            phone=contact.phone,
            claimed_at=NOW,
            **fields,
        )
        session.add(attempt)
        await session.flush()
        return attempt.id


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def _finished_contact(sessions: async_sessionmaker[AsyncSession], campaign_id: int) -> int:
    contact_id = await _contact(
        sessions,
        campaign_id,
        "79100000001",
        vars={"name": '=HYPERLINK("x")', "order": "A-1"},
        status=ContactStatus.DONE,
        outcome=Outcome.LISTENED,
        attempts=2,
        last_cause=16,
        listened_seconds=42,
        dtmf="1",
        transfer_number="74997090111",
        transfer_seconds=30,
        first_call_at=NOW,
        last_call_at=LATER,
    )
    await _attempt(
        sessions,
        contact_id,
        state=AttemptState.FINISHED,
        call_id="00000000000000A1",
        sent_at=NOW,
        finished_at=NOW + timedelta(seconds=20),
        cause=17,
        category="busy",
        duration=0,
    )
    await _attempt(
        sessions,
        contact_id,
        state=AttemptState.FINISHED,
        call_id="00000000000000B2",
        sent_at=LATER,
        originated_at=LATER,
        finished_at=LATER + timedelta(seconds=45),
        cause=16,
        category="listened",
        duration=42,
        dtmf="1",
        transfer_number="74997090111",
        transfer_cause=16,
        transfer_seconds=30,
    )
    return contact_id


# --- contacts level --------------------------------------------------------------------------


@pytest.mark.any_db
@pytest.mark.parametrize("delimiter", [";", ","])
async def test_contacts_csv(
    sessions: async_sessionmaker[AsyncSession], backend: str, delimiter: str
) -> None:
    campaign_id = await _campaign(sessions)
    await _finished_contact(sessions, campaign_id)
    await _contact(sessions, campaign_id, "79100000002", vars={"name": "Ира", "order": "-7"})
    data = await _collect(export_contacts(sessions, campaign_id, fmt="csv", delimiter=delimiter))
    header, *rows = read_csv_export(data, delimiter)
    assert header == [*CONTACT_COLUMNS, "name", "order"]
    assert rows == [
        [
            "79100000001", "done", "listened", "2", "16", cause_text(16), "42", "1",
            "74997090111", "30", "2026-03-02T09:00:00Z", "2026-03-02T09:05:07Z",
            "00000000000000A1 00000000000000B2", "Europe/Moscow", "", "", "", "",
            "'=HYPERLINK(\"x\")", "A-1",
        ],
        [
            "79100000002", "pending", "", "0", "", "", "0", "", "", "0", "", "", "",
            "Europe/Moscow", "", "", "not_started", "", "Ира", "'-7",
        ],
    ]  # fmt: skip


@pytest.mark.any_db
async def test_contacts_xlsx(sessions: async_sessionmaker[AsyncSession], backend: str) -> None:
    campaign_id = await _campaign(sessions)
    await _finished_contact(sessions, campaign_id)
    data = await _collect(export_contacts(sessions, campaign_id, fmt="xlsx"))
    sheets = read_xlsx_export(data)
    assert list(sheets) == ["results"]
    header, row = sheets["results"]
    assert header == [*CONTACT_COLUMNS, "name", "order"]
    assert row == [
        "79100000001", "done", "listened", 2, 16, cause_text(16), 42, "1", "74997090111", 30,
        "2026-03-02T09:00:00Z", "2026-03-02T09:05:07Z", "00000000000000A1 00000000000000B2",
        "Europe/Moscow", None, None, None, None, "'=HYPERLINK(\"x\")", "A-1",
    ]  # fmt: skip


@pytest.mark.any_db
async def test_xlsx_of_the_same_rows_is_the_same_bytes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The console's download and the REST export are compared byte for byte: the workbook
    records the campaign's creation time, not the moment it was written."""
    campaign_id = await _campaign(sessions)
    await _finished_contact(sessions, campaign_id)
    first = await _collect(export_contacts(sessions, campaign_id, fmt="xlsx"))
    await asyncio.sleep(1.1)  # xlsxwriter stamps whole seconds
    assert await _collect(export_contacts(sessions, campaign_id, fmt="xlsx")) == first


async def test_contacts_say_why_they_wait(
    sessions: async_sessionmaker[AsyncSession], backend: str
) -> None:
    """At 03:00 in Moscow the window opens at 08:00 there; it is 10:00 in Vladivostok, open,
    so that contact waits for a line; a capped contact waits for the time it was given."""
    campaign_id = await _campaign(sessions)
    async with write_transaction(sessions) as session:
        campaign = await session.get_one(Campaign, campaign_id)
        campaign.status, campaign.window = "running", {}
    await _contact(sessions, campaign_id, "79100000004", status="pending")
    await _contact(sessions, campaign_id, "79100000002", timezone="Asia/Vladivostok")
    await _contact(
        sessions,
        campaign_id,
        "79100000003",
        status="scheduled",
        next_attempt_at=NOW + timedelta(days=1),
        waiting_reason="daily_cap",
    )
    await _finished_contact(sessions, campaign_id)
    night = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    data = await _collect(export_contacts(sessions, campaign_id, fmt="csv", now=night))
    header, *rows = read_csv_export(data)
    columns = header.index("waiting_reason"), header.index("next_attempt_at")
    assert [[row[0], *(row[c] for c in columns)] for row in rows] == [
        ["79100000004", "window_closed", "2026-03-02T05:00:00Z"],
        ["79100000002", "concurrency", ""],
        ["79100000003", "daily_cap", "2026-03-03T09:00:00Z"],
        ["79100000001", "", ""],
    ]


async def test_cause_text_in_russian(sessions: async_sessionmaker[AsyncSession]) -> None:
    campaign_id = await _campaign(sessions)
    await _finished_contact(sessions, campaign_id)
    data = await _collect(export_contacts(sessions, campaign_id, fmt="csv", lang="ru"))
    _, row = read_csv_export(data)
    assert row[CONTACT_COLUMNS.index("last_cause_text")] == "разговор завершён"


async def test_variables_of_every_contact_become_columns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    await _contact(sessions, campaign_id, "79100000001", vars={"zeta": "1", "alpha": "2"})
    await _contact(sessions, campaign_id, "79100000002", vars={"=city": "Тверь", "alpha": "3"})
    await _contact(sessions, campaign_id, "79100000003", vars={})
    header, *rows = read_csv_export(
        await _collect(export_contacts(sessions, campaign_id, fmt="csv"))
    )
    assert header[len(CONTACT_COLUMNS) :] == ["zeta", "alpha", "'=city"]
    assert [row[len(CONTACT_COLUMNS) :] for row in rows] == [
        ["1", "2", ""],
        ["", "3", "Тверь"],
        ["", "", ""],
    ]


async def test_empty_campaign_exports_the_header(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    csv_rows = read_csv_export(await _collect(export_contacts(sessions, campaign_id, fmt="csv")))
    assert csv_rows == [list(CONTACT_COLUMNS)]
    sheets = read_xlsx_export(await _collect(export_contacts(sessions, campaign_id, fmt="xlsx")))
    assert sheets == {"results": [list(CONTACT_COLUMNS)]}


async def test_csv_is_streamed_in_chunks(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exporter, "CHUNK", 2)
    campaign_id = await _campaign(sessions)
    for n in range(5):
        await _contact(sessions, campaign_id, f"7910000000{n}")
    chunks = [c async for c in export_contacts(sessions, campaign_id, fmt="csv")]
    assert len(chunks) == 4  # header, then rows 2 + 2 + 1
    rows = read_csv_export(b"".join(chunks))[1:]
    assert [row[0] for row in rows] == [f"7910000000{n}" for n in range(5)]


@pytest.mark.parametrize(
    ("export", "columns"), [(export_contacts, CONTACT_COLUMNS), (export_attempts, ATTEMPT_COLUMNS)]
)
async def test_xlsx_continues_on_further_sheets_when_one_is_full(
    sessions: async_sessionmaker[AsyncSession], export: Any, columns: tuple[str, ...]
) -> None:
    campaign_id = await _campaign(sessions)
    for n in range(5):
        await _attempt(sessions, await _contact(sessions, campaign_id, f"7910000000{n}"))
    data = await _collect(export(sessions, campaign_id, fmt="xlsx", sheet_rows=3))
    sheets = read_xlsx_export(data)
    assert list(sheets) == ["results", "results (2)", "results (3)"]
    assert [len(rows) for rows in sheets.values()] == [3, 3, 2]  # each a header, then 2, 2, 1
    assert all(rows[0] == [*columns, "name", "order"] for rows in sheets.values())
    phone = columns.index("phone")
    assert [row[phone] for rows in sheets.values() for row in rows[1:]] == [
        f"7910000000{n}" for n in range(5)
    ]


async def test_xlsx_takes_exactly_as_many_columns_as_a_sheet_has(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    names = [f"v{n}" for n in range(XLSX_MAX_COLUMNS - len(CONTACT_COLUMNS))]
    await _contact(sessions, campaign_id, "79100000001", vars={name: name for name in names})
    sheets = read_xlsx_export(await _collect(export_contacts(sessions, campaign_id, fmt="xlsx")))
    header, row = sheets["results"]
    assert len(header) == len(row) == XLSX_MAX_COLUMNS
    assert header[-1] == row[-1] == names[-1]


async def test_xlsx_wider_than_a_sheet_is_refused_before_any_byte(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    names = [f"v{n}" for n in range(XLSX_MAX_COLUMNS - len(CONTACT_COLUMNS) + 1)]
    await _contact(sessions, campaign_id, "79100000001", vars=dict.fromkeys(names, "x"))
    chunks = export_contacts(sessions, campaign_id, fmt="xlsx")
    with pytest.raises(Invalid, match=r"at most 16384 columns, this export has 16385 .*CSV"):
        await anext(chunks)
    csv_rows = read_csv_export(await _collect(export_contacts(sessions, campaign_id, fmt="csv")))
    assert len(csv_rows[0]) == len(csv_rows[1]) == XLSX_MAX_COLUMNS + 1


async def test_xlsx_refuses_text_longer_than_a_cell_holds(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    await _contact(sessions, campaign_id, "79100000001")
    await _contact(sessions, campaign_id, "79100000002", vars={"name": "я" * 32_768, "order": "B"})
    chunks = export_contacts(sessions, campaign_id, fmt="xlsx")
    with pytest.raises(Invalid, match=r"row 2 has text longer than XLSX.s 32,767 .*CSV") as caught:
        await anext(chunks)
    assert caught.value.field == "format"


async def test_unknown_campaign_is_not_found(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(NotFound, match="campaign 404 does not exist"):
        await _collect(export_contacts(sessions, 404, fmt="csv"))


@pytest.mark.parametrize(
    ("fmt", "delimiter", "field"), [("pdf", ";", "format"), ("csv", "\t", "delimiter")]
)
async def test_bad_format_or_delimiter_is_invalid(
    sessions: async_sessionmaker[AsyncSession], fmt: Any, delimiter: str, field: str
) -> None:
    campaign_id = await _campaign(sessions)
    with pytest.raises(Invalid) as caught:
        await _collect(export_attempts(sessions, campaign_id, fmt=fmt, delimiter=delimiter))
    assert caught.value.field == field


# --- attempts level --------------------------------------------------------------------------


@pytest.mark.any_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_attempts_one_row_per_attempt(
    sessions: async_sessionmaker[AsyncSession], backend: str, fmt: Any
) -> None:
    campaign_id = await _campaign(sessions)
    contact_id = await _finished_contact(sessions, campaign_id)
    await _attempt(sessions, contact_id, state=AttemptState.REJECTED, error="-bad number")
    async with sessions() as session:
        ids = (await session.scalars(select(Attempt.id).order_by(Attempt.id))).all()
    data = await _collect(export_attempts(sessions, campaign_id, fmt=fmt))
    header, *rows = read_csv_export(data) if fmt == "csv" else read_xlsx_export(data)["results"]
    assert header == [*ATTEMPT_COLUMNS, "name", "order"]
    text = [[str(cell) if cell is not None else "" for cell in row] for row in rows]
    assert text == [
        [
            str(ids[0]), "79100000001", "finished", "busy", "17", cause_text(17), "0", "", "",
            "", "0", "00000000000000A1", "2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z", "",
            "2026-03-02T09:00:20Z", "", "'=HYPERLINK(\"x\")", "A-1",
        ],
        [
            str(ids[1]), "79100000001", "finished", "listened", "16", cause_text(16), "42",
            "1", "74997090111", "16", "30", "00000000000000B2", "2026-03-02T09:00:00Z",
            "2026-03-02T09:05:07Z", "2026-03-02T09:05:07Z", "2026-03-02T09:05:52Z", "",
            "'=HYPERLINK(\"x\")", "A-1",
        ],
        [
            str(ids[2]), "79100000001", "rejected", "", "", "", "", "", "", "", "0", "",
            "2026-03-02T09:00:00Z", "", "", "", "'-bad number", "'=HYPERLINK(\"x\")", "A-1",
        ],
    ]  # fmt: skip


async def test_attempts_of_other_campaigns_are_left_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    other_id = await _campaign(sessions)
    await _finished_contact(sessions, other_id)
    rows = read_csv_export(await _collect(export_attempts(sessions, campaign_id, fmt="csv")))
    assert rows == [list(ATTEMPT_COLUMNS)]


@pytest.mark.any_db
async def test_variables_that_are_not_text(
    sessions: async_sessionmaker[AsyncSession], backend: str
) -> None:
    campaign_id = await _campaign(sessions)
    await _contact(sessions, campaign_id, "79100000001", vars={"n": 5, "o": {"a": "б"}})
    await _contact(sessions, campaign_id, "79100000002", vars={"n": "=1", "o": None})
    _, *rows = read_csv_export(await _collect(export_contacts(sessions, campaign_id, fmt="csv")))
    assert [row[len(CONTACT_COLUMNS) :] for row in rows] == [["5", '{"a": "б"}'], ["'=1", ""]]


@pytest.mark.any_db
async def test_variable_columns_keep_the_order_of_the_imported_files(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    first = "phone;zeta;name;alpha\n79101234567;z;Анна;a\n".encode()
    second = "phone;beta;name\n79101234568;b;Олег\n".encode()
    await import_file(sessions, campaign_id, first, filename="one.csv")
    await import_file(sessions, campaign_id, second, filename="two.csv")
    await _contact(sessions, campaign_id, "79101234569", vars={"name": "Ия", "extra": "x"})

    header, *_ = read_csv_export(await _collect(export_contacts(sessions, campaign_id, fmt="csv")))

    assert header[len(CONTACT_COLUMNS) :] == ["zeta", "name", "alpha", "beta", "extra"]
