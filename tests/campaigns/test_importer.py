from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import dnc, importer
from campaigns.db import session_factory, write_transaction
from campaigns.errors import NotFound
from campaigns.filereader import (
    ImportRefused,
    Limits,
    contacts_frame,
    detect_delimiter,
    detect_encoding,
    read_file,
)
from campaigns.importer import INSERT_CHUNK, ImportReport, import_contacts, import_file
from campaigns.rowchecks import LISTED_REJECTIONS, Checked, check_rows
from campaigns.states import ContactStatus, DncSource
from campaigns.tables import Campaign, Contact
from tests.campaigns.files import HEADER, csv_bytes, number, rows, xlsx_bytes

# --- reading files ---------------------------------------------------------------------------

_CYRILLIC = [["8 (910) 123-45-67", "Анна Пётровна", "Заказ «17»"]]
_SAMPLE = "Телефон;ФИО\n79101234567;Иванова Анна Петровна\n79101234568;Сидоров Пётр\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig"), ("cp1251", False, "cp1251")],
)
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_encodings_and_delimiters_are_detected(
    encoding: str, bom: bool, detected: str, delimiter: str
) -> None:
    data = csv_bytes(_CYRILLIC + rows(3), encoding=encoding, bom=bom, delimiter=delimiter)
    sheet = read_file(data)
    assert (sheet.format, sheet.encoding, sheet.delimiter) == ("csv", detected, delimiter)
    assert list(sheet.frame.columns) == list(HEADER)
    assert list(sheet.frame.loc[2]) == _CYRILLIC[0]
    assert sheet.frame.index.tolist() == [2, 3, 4, 5]


def test_quoted_fields_keep_delimiters_quotes_and_newlines() -> None:
    table = [["+7 910 000-00-01", 'Say "hi"; ok', "line one\nline two"], ["89100000002", "x", "y"]]
    sheet = read_file(csv_bytes(table, delimiter=";"))
    assert list(sheet.frame.loc[2]) == table[0]
    assert list(sheet.frame.loc[3]) == table[1]


def test_blank_lines_are_skipped_but_keep_the_numbering() -> None:
    data = b"phone;name\n79100000001;a\n\n;\n79100000002;b\n\n"
    frame = read_file(data).frame
    assert frame.index.tolist() == [2, 5]
    assert frame["name"].tolist() == ["a", "b"]


def test_short_rows_are_filled_with_empty_cells() -> None:
    frame = read_file(b"phone,name,order\n79100000001,a\n79100000002,b,c\n").frame
    assert list(frame.loc[2]) == ["79100000001", "a", ""]


def test_ascii_sample_with_a_cp1251_tail_falls_back_to_cp1251() -> None:
    head = csv_bytes([[f"7910{n:07d}", "x", "y"] for n in range(5000)], header=("phone", "a", "b"))
    tail = "79100009999,Ёжик,Б-1\r\n".encode("cp1251")
    sheet = read_file(head + tail)
    assert sheet.encoding == "cp1251"
    assert sheet.frame["a"].iloc[-1] == "Ёжик"


def test_explicit_delimiter_wins_over_detection() -> None:
    frame = read_file(b"phone;name\n7910;x\n", delimiter=",").frame
    assert list(frame.columns) == ["phone;name"]


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ('phone;name\n"8 (910) 1,2";x\n', ";"),
        ("phone\n79100000001\n", ","),
        ("a;b", ";"),
    ],
)
def test_detect_delimiter(sample: str, delimiter: str) -> None:
    assert detect_delimiter(sample) == delimiter


@pytest.mark.parametrize(
    ("sample", "encoding"),
    [
        (b"\xef\xbb\xbfphone", "utf-8-sig"),
        ("телефон".encode(), "utf-8"),
        ("телефон".encode()[:-1], "utf-8"),
        (_SAMPLE.encode("cp1251"), "cp1251"),
        (_SAMPLE.encode("koi8-r"), "koi8-r"),
        (_SAMPLE.upper().encode("cp1251"), "cp1251"),
        (_SAMPLE.upper().encode("koi8-r"), "koi8-r"),
        (_SAMPLE.encode("utf-16"), "utf-16"),
        (_SAMPLE.encode("utf-16-le"), "utf-16-le"),
        (_SAMPLE.encode("utf-16-be"), "utf-16-be"),
        (_SAMPLE.encode("utf-16-le")[:-1], "utf-16-le"),
        (b"plain ascii", "utf-8"),
    ],
)
def test_detect_encoding(sample: bytes, encoding: str) -> None:
    assert detect_encoding(sample) == encoding


@pytest.mark.parametrize(
    "sample",
    [
        "телефон".encode("cp1251"),  # one word: either reading is a Russian word's letters
        bytes(range(128, 256)),
        b"phone;name\n7910;\x98\x98\n",
        "phone;name\n7910;Müller\n".encode("latin-1"),
    ],
)
def test_an_encoding_it_cannot_tell_is_refused(sample: bytes) -> None:
    with pytest.raises(ImportRefused, match="can't tell the file's encoding") as caught:
        detect_encoding(sample)
    assert caught.value.reason == "unknown_encoding"


def test_xlsx_cells_come_back_as_text() -> None:
    table: list[list[object]] = [
        [79101234567, "Анна", 17],
        ["8 (910) 000-00-02", None, 1.5],
        [79100000003.0, "x", "A-3"],
    ]
    sheet = read_file(xlsx_bytes(table))
    assert sheet.format == "xlsx"
    assert sheet.frame.to_dict("index") == {
        2: {"телефон": "79101234567", "name": "Анна", "order": "17"},
        3: {"телефон": "8 (910) 000-00-02", "name": "", "order": "1.5"},
        4: {"телефон": "79100000003", "name": "x", "order": "A-3"},
    }


def test_xlsx_is_recognised_by_name_or_content(tmp_path: Path) -> None:
    path = tmp_path / "contacts.XLSX"
    path.write_bytes(xlsx_bytes(rows(2)))
    assert read_file(path).frame["name"].tolist() == ["Имя 0", "Имя 1"]


def test_unnamed_blank_columns_are_dropped_and_named_ones_kept() -> None:
    frame = read_file(b"phone;;name;\n79100000001;;a;\n79100000002;x;b;\n").frame
    assert list(frame.columns) == ["phone", "column 2", "name"]
    assert frame["column 2"].tolist() == ["", "x"]


def test_header_names_are_stripped() -> None:
    frame = read_file(b" phone ; name\n79100000001;a\n").frame
    assert list(frame.columns) == ["phone", "name"]


def test_header_only_file_has_no_rows() -> None:
    sheet = read_file(b"phone;name\r\n")
    assert sheet.frame.empty
    assert list(sheet.frame.columns) == ["phone", "name"]


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"", "empty_file", "file is empty"),
        (b"  \r\n\r\n", "empty_file", "file is empty"),
        (b"phone,name\n1,2,3,4\n", "unreadable", "cannot parse the CSV"),
        (b"phone,name\n1,2\n1,2,3,4\n", "unreadable", "Expected 2 fields in line 3, saw 4"),
        (b"PK\x03\x04broken zip", "unreadable", "cannot open the XLSX"),
        (b"\xd0\xcf\x11\xe0old excel", "unsupported_format", "old binary .xls"),
        (b"phone;Phone\n1;2\n", "duplicate_column", "'Phone' appears more than once"),
        (b"phone;name\n\x98\x98;x\n", "unknown_encoding", "can't tell the file's encoding"),
    ],
)
def test_unreadable_files_are_refused(data: bytes, code: str, message: str) -> None:
    with pytest.raises(ImportRefused, match=message) as caught:
        read_file(data)
    assert caught.value.reason == code


def test_delimiter_must_be_one_character() -> None:
    with pytest.raises(ImportRefused, match="one character") as caught:
        read_file(b"a;b\n1;2\n", delimiter=";;")
    assert caught.value.reason == "bad_delimiter"


@pytest.mark.parametrize("make", [csv_bytes, xlsx_bytes])
def test_row_limit(make: object) -> None:
    data = make(rows(5))  # type: ignore[operator]
    assert len(read_file(data, limits=Limits(max_rows=5)).frame) == 5
    with pytest.raises(ImportRefused, match="more than 4 rows") as caught:
        read_file(data, limits=Limits(max_rows=4))
    assert caught.value.reason == "too_many_rows"


def test_size_limit(tmp_path: Path) -> None:
    data = csv_bytes(rows(10))
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    for source in (data, path):
        with pytest.raises(ImportRefused, match=f"file is {len(data)} bytes") as caught:
            read_file(source, limits=Limits(max_bytes=len(data) - 1))
        assert caught.value.reason == "file_too_large"


# --- JSON contacts ---------------------------------------------------------------------------


def test_contacts_frame_flattens_vars_and_overrides() -> None:
    frame = contacts_frame(
        [
            {"phone": "+7 910 123-45-67", "vars": {"name": "Анна", "order": 17}},
            {
                "phone": 79100000002,
                "vars": {"name": "Пётр", "city": "Тверь"},
                "messText": "Hi {name}",
                "voice": {"voice_name": "oksana", "speed": 1.2},
                "timezone": "Europe/Samara",
            },
        ]
    )
    assert frame.index.tolist() == [1, 2]
    assert frame.loc[1, "order"] == "17"
    assert frame.loc[1, "city"] == ""
    assert frame.loc[2].to_dict() == {
        "phone": "79100000002",
        "name": "Пётр",
        "order": "",
        "text": "Hi {name}",
        "timezone": "Europe/Samara",
        "voice_name": "oksana",
        "emotion": "",
        "speed_speech": "1.2",
        "city": "Тверь",
    }


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        ({"phone": "1", "colour": "red"}, "contact 1: unknown field"),
        ({"phone": "1", "vars": ["a"]}, "vars and voice are objects"),
        ({"phone": "1", "vars": {"Timezone": "x"}}, "Timezone clash"),
        ({"phone": "1", "voice": {"lang": "en-US"}}, "voice field.s. lang cannot be set"),
    ],
)
def test_contacts_frame_refuses_malformed_contacts(
    contact: dict[str, object], message: str
) -> None:
    with pytest.raises(ImportRefused, match=message):
        contacts_frame([contact])


# --- row checks ------------------------------------------------------------------------------


def _frame(table: list[list[str]], header: tuple[str, ...] = HEADER) -> pd.DataFrame:
    return read_file(csv_bytes(table, header=header, delimiter=";")).frame


def _check(
    table: list[list[str]],
    header: tuple[str, ...] = HEADER,
    *,
    message: str = "Здравствуйте, {name}!",
    phone_column: str | None = None,
) -> Checked:
    return check_rows(
        _frame(table, header),
        message=message,
        default_timezone="Europe/Moscow",
        phone_column=phone_column,
    )


def _rejected(checked: Checked) -> list[tuple[int, str, str, str]]:
    return [(r.line, r.column, r.value, r.reason) for r in checked.rejected]


def test_messy_numbers_are_normalised_and_bad_ones_rejected_with_line_and_reason() -> None:
    checked = _check(
        [
            ["8 (910) 123-45-67", "Анна", "1"],
            ["12345", "Пётр", "2"],
            ["+7 910 000-00-02", "Ира", "3"],
            ["", "Олег", "4"],
        ]
    )
    assert checked.contacts["phone"].tolist() == ["79101234567", "79100000002"]
    assert checked.contacts.index.tolist() == [2, 4]
    assert _rejected(checked) == [
        (3, "телефон", "12345", "too short: 5 digits (sb-api takes exactly 11)"),
        (5, "телефон", "", "empty"),
    ]
    assert (checked.rows, checked.rejected_count, checked.duplicates) == (4, 2, 0)


def test_duplicates_in_the_file_keep_the_first_valid_row() -> None:
    checked = _check(
        [
            ["89100000001", "first", "1"],
            ["+7 910 000 00 01", "second", "2"],
            ["9100000001", "third", "3"],
            ["89100000002", "other", "4"],
        ]
    )
    assert checked.duplicates == 2
    assert checked.contacts.index.tolist() == [2, 5]
    assert [json.loads(v)["name"] for v in checked.contacts["vars"]] == ["first", "other"]


def test_a_rejected_first_row_does_not_make_its_twin_a_duplicate() -> None:
    header = ("phone", "name", "emotion")
    checked = _check([["89100000001", "a", "angry"], ["89100000001", "b", ""]], header)
    assert checked.duplicates == 0
    assert checked.contacts.index.tolist() == [3]


@pytest.mark.parametrize("name", ["Phone", "B_NUMBER", "number", "Телефон", "НОМЕР"])
def test_phone_column_is_found_by_name(name: str) -> None:
    checked = _check([["89100000001", "Анна"]], (name, "name"))
    assert checked.contacts["phone"].tolist() == ["79100000001"]


def test_phone_column_named_explicitly_leaves_the_others_as_variables() -> None:
    checked = _check(
        [["89100000001", "89100000009", "Анна"]],
        ("Мобильный", "phone", "name"),
        message="{phone} {name}",
        phone_column="мобильный",
    )
    assert checked.contacts["phone"].tolist() == ["79100000001"]
    assert json.loads(checked.contacts["vars"].iloc[0]) == {"phone": "89100000009", "name": "Анна"}


@pytest.mark.parametrize(
    ("header", "phone_column", "message"),
    [
        (("name", "order"), None, "no phone column: name one of phone, b_number"),
        (("phone", "name"), "tel", "no column 'tel'; the columns are: phone, name"),
    ],
)
def test_missing_phone_column_refuses_the_import(
    header: tuple[str, ...], phone_column: str | None, message: str
) -> None:
    with pytest.raises(ImportRefused, match=message) as caught:
        _check([["1", "2"]], header, phone_column=phone_column)
    assert caught.value.reason == "no_phone_column"


def test_a_placeholder_without_a_column_refuses_the_import() -> None:
    with pytest.raises(ImportRefused) as caught:
        _check(rows(1), message="Hi {name}, {city} {Order}")
    assert caught.value.reason == "bad_template"
    assert caught.value.message == (
        "message template: unknown placeholder(s) {Order}, {city}; available columns: name, order"
    )


def test_variables_are_every_other_column_as_json_in_file_order() -> None:
    header = ("order", "phone", "name", "TimeZone", "messText", "voice_name")
    checked = _check([['"A\\1"', "89100000001", "Анна\tТаб", "", "", ""]], header, message="{name}")
    assert checked.contacts["vars"].iloc[0] == '{"order":"\\"A\\\\1\\"","name":"Анна\\tТаб"}'
    assert json.loads(checked.contacts["vars"].iloc[0]) == {"order": '"A\\1"', "name": "Анна\tТаб"}


def test_no_variables_give_an_empty_object() -> None:
    checked = _check([["89100000001"]], ("phone",), message="Hello")
    assert checked.contacts["vars"].tolist() == ["{}"]


@pytest.mark.parametrize(
    ("phone", "zone_cell", "zone"),
    [
        ("84951234567", "", "Europe/Moscow"),
        ("83432123456", "", "Asia/Yekaterinburg"),
        ("84232123456", "", "Asia/Vladivostok"),
        ("89101234567", "", "Europe/Moscow"),  # a mobile: Нижегородская обл. in the plan
        ("89951234567", "", ""),  # a mobile outside the plan: unknown (strict policy)
        ("84232123456", "Europe/Kaliningrad", "Europe/Kaliningrad"),
        ("+12025550123", "", "America/New_York"),
    ],
)
def test_contact_timezone(phone: str, zone_cell: str, zone: str) -> None:
    checked = check_rows(
        _frame([[phone, zone_cell]], ("phone", "timezone")),
        message="Hello",
        default_timezone="Europe/Samara",
    )
    assert checked.contacts["timezone"].tolist() == [zone]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("timezone", "Moscow", "unknown timezone: use an IANA name"),
        ("voice_name", "robot", "voice_name 'robot' is not one of: alyss, jane, oksana"),
        ("emotion", "angry", "emotion 'angry' is not one of: good, evil, neutral"),
        ("speed_speech", "5", "speed '5' must be a number from 0.1 to 3.0"),
        ("speed_speech", "fast", "speed 'fast' must be a number from 0.1 to 3.0"),
        ("text", "Hi {surname}", "unknown placeholder(s) {surname}; available columns: name"),
        ("messText", "Hi {name", "unmatched '{'"),
    ],
)
def test_invalid_per_row_override_rejects_the_row_naming_the_column(
    column: str, value: str, reason: str
) -> None:
    checked = _check(
        [["89100000001", "Анна", value], ["89100000002", "Ира", ""]], ("phone", "name", column)
    )
    assert checked.contacts["phone"].tolist() == ["79100000002"]
    [(line, named, shown, why)] = _rejected(checked)
    assert (line, named, shown) == (2, column, value)
    assert reason in why


def test_valid_overrides_are_kept_per_row() -> None:
    header = ("phone", "name", "text", "voice_name", "emotion", "speed_speech", "timezone")
    checked = _check(
        [
            ["89100000001", "Анна", " Hi {name} ", "Oksana", "good", "1,5", "Asia/Omsk"],
            ["89100000002", "Ира", "", "", "", "", ""],
            ["89100000003", "Оля", "", "", "evil", "", ""],
        ],
        header,
    )
    contacts = checked.contacts
    assert contacts["text"].fillna("-").tolist() == ["Hi {name}", "-", "-"]
    assert [None if pd.isna(v) else json.loads(v) for v in contacts["voice"]] == [
        {"voice_name": "oksana", "emotion": "good", "speed": 1.5},
        None,
        {"emotion": "evil"},
    ]
    # a row's own zone, else the plan's (910-000: г. Москва и Московская область)
    assert contacts["timezone"].tolist() == ["Asia/Omsk", "Europe/Moscow", "Europe/Moscow"]


def test_rows_whose_message_renders_empty_are_rejected() -> None:
    header = ("phone", "name", "order", "text")
    checked = _check(
        [
            ["89100000001", "", "", ""],
            ["89100000002", "", "7", ""],
            ["89100000003", "", "", "{order}"],
            ["89100000004", "", "", "fixed text"],
            ["89100000005", " ", " ", " "],
        ],
        header,
        message=" {name} {order} ",
    )
    assert checked.contacts.index.tolist() == [3, 5]
    assert _rejected(checked) == [
        (2, "name", "", "the message renders empty: name, order empty"),
        (4, "order", "", "the message renders empty: order empty"),
        (6, "name", " ", "the message renders empty: name, order empty"),
    ]


def test_an_empty_message_needs_a_text_in_every_row() -> None:
    checked = _check(
        [["89100000001", "x", "Hello"], ["89100000002", "y", ""]],
        ("phone", "name", "text"),
        message="",
    )
    assert checked.contacts.index.tolist() == [2]
    assert _rejected(checked)[0][:2] == (3, "text")


def test_the_first_problem_of_a_row_is_the_one_reported() -> None:
    checked = _check(
        [["1", "Mars/Base", "robot"]], ("phone", "timezone", "voice_name"), message="x"
    )
    assert _rejected(checked) == [
        (2, "phone", "1", "too short: 1 digits (sb-api takes exactly 11)")
    ]


def test_rejections_beyond_the_first_thousand_are_counted_not_listed() -> None:
    table = [[f"{n}", "x"] for n in range(1500)] + [["89100000001", "x"]]
    checked = _check(table, ("phone", "name"), message="hi")
    assert checked.rejected_count == 1500
    assert len(checked.rejected) == LISTED_REJECTIONS
    assert [r.line for r in checked.rejected] == list(range(2, 1002))


# --- importing into the database ------------------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _campaign(
    sessions: async_sessionmaker[AsyncSession],
    *,
    message: str = "Здравствуйте, {name}! Заказ {order}.",
    timezone: str = "Europe/Moscow",
) -> int:
    async with write_transaction(sessions) as session:
        campaign = Campaign(
            name="import", message=message, timezone=timezone, created_at=NOW, updated_at=NOW
        )
        session.add(campaign)
        await session.flush()
        return campaign.id


async def _contacts(sessions: async_sessionmaker[AsyncSession], campaign_id: int) -> list[Contact]:
    async with sessions() as session:
        query = select(Contact).where(Contact.campaign_id == campaign_id).order_by(Contact.id)
        return list((await session.scalars(query)).all())


async def _block(sessions: async_sessionmaker[AsyncSession], *numbers: str) -> None:
    async with write_transaction(sessions) as session:
        for phone in numbers:
            await session.run_sync(dnc.add, phone, source=DncSource.API, now=NOW)


def _report(
    rows: int, accepted: int, duplicates: int = 0, dnc_hits: int = 0, rejected: int = 0
) -> tuple[int, ...]:
    return (rows, accepted, duplicates, dnc_hits, rejected)


def _summary(report: ImportReport) -> tuple[int, ...]:
    return (report.rows, report.accepted, report.duplicates, report.dnc, report.rejected_count)


@pytest.mark.any_db
@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8", ","), ("cp1251", ";"), ("utf-8-sig", "\t")]
)
async def test_import_file_stores_contacts(
    sessions: async_sessionmaker[AsyncSession], backend: str, encoding: str, delimiter: str
) -> None:
    campaign_id = await _campaign(sessions)
    data = csv_bytes([*rows(3), ["bad", "x", "y"]], encoding=encoding, delimiter=delimiter)
    report = await import_file(sessions, campaign_id, data, filename="contacts.csv")
    assert _summary(report) == _report(4, 3, rejected=1)
    assert report.to_dict()["rejected"] == [
        {"line": 5, "column": "телефон", "value": "bad", "reason": "not a number"}
    ]
    contacts = await _contacts(sessions, campaign_id)
    assert [(c.phone, c.line, c.vars) for c in contacts] == [
        (number(n), n + 2, {"name": f"Имя {n}", "order": f"A-{n}"}) for n in range(3)
    ]
    first = contacts[0]
    assert (first.timezone, first.text, first.voice, first.status) == (
        "Europe/Moscow",  # a 910-000 mobile: г. Москва и Московская область in the plan
        None,
        None,
        ContactStatus.PENDING,
    )
    assert (first.attempts, first.history, first.dtmf, first.outcome) == (0, "", "", None)


@pytest.mark.any_db
async def test_import_xlsx_with_overrides(
    sessions: async_sessionmaker[AsyncSession], backend: str
) -> None:
    campaign_id = await _campaign(sessions)
    header = ("Phone", "name", "order", "messText", "voice_name", "timezone")
    table: list[list[object]] = [
        [79100000001, "Анна", 17, "Привет, {name}", "ZAHAR", "Asia/Omsk"],
        ["8 910 000-00-02", "Ира", "A-2", None, None, None],
    ]
    report = await import_file(sessions, campaign_id, xlsx_bytes(table, header=header))
    assert _summary(report) == _report(2, 2)
    contacts = await _contacts(sessions, campaign_id)
    assert [(c.phone, c.vars, c.text, c.voice, c.timezone) for c in contacts] == [
        (
            "79100000001",
            {"name": "Анна", "order": "17"},
            "Привет, {name}",
            {"voice_name": "zahar"},
            "Asia/Omsk",
        ),
        ("79100000002", {"name": "Ира", "order": "A-2"}, None, None, "Europe/Moscow"),
    ]


@pytest.mark.any_db
async def test_duplicates_against_the_campaign_and_dnc_hits_are_counted(
    sessions: async_sessionmaker[AsyncSession], backend: str
) -> None:
    campaign_id = await _campaign(sessions)
    other_id = await _campaign(sessions)
    await import_file(sessions, campaign_id, csv_bytes(rows(3)))
    await _block(sessions, number(4), number(5))
    table = rows(7) + rows(1, start=6)  # 0-2 already there, 4-5 blocked, 6 twice
    report = await import_file(sessions, campaign_id, csv_bytes(table))
    assert _summary(report) == _report(8, 2, duplicates=4, dnc_hits=2)
    assert [c.phone for c in await _contacts(sessions, campaign_id)] == [
        number(n) for n in (0, 1, 2, 3, 6)
    ]
    other = await import_file(sessions, other_id, csv_bytes(rows(3)))
    assert _summary(other) == _report(3, 3)


@pytest.mark.any_db
@pytest.mark.parametrize(
    ("data", "phone_column", "reason"),
    [
        (b"", None, "empty_file"),
        (b"\xd0\xcf\x11\xe0", None, "unsupported_format"),
        (csv_bytes(rows(2), header=("tel", "name", "order")), None, "no_phone_column"),
        (csv_bytes(rows(2)), "mobile", "no_phone_column"),
        (csv_bytes(rows(2), header=("phone", "name", "city")), None, "bad_template"),
        (csv_bytes(rows(6)), None, "too_many_rows"),
    ],
)
async def test_a_refused_import_leaves_the_database_untouched(
    sessions: async_sessionmaker[AsyncSession],
    backend: str,
    data: bytes,
    phone_column: str | None,
    reason: str,
) -> None:
    campaign_id = await _campaign(sessions)
    await import_file(sessions, campaign_id, csv_bytes(rows(2)))
    before = await _contacts(sessions, campaign_id)
    with pytest.raises(ImportRefused) as caught:
        await import_file(
            sessions, campaign_id, data, phone_column=phone_column, limits=Limits(max_rows=5)
        )
    assert caught.value.reason == reason
    assert [c.id for c in await _contacts(sessions, campaign_id)] == [c.id for c in before]


@pytest.mark.any_db
async def test_header_only_file_imports_nothing(
    sessions: async_sessionmaker[AsyncSession], backend: str
) -> None:
    campaign_id = await _campaign(sessions)
    report = await import_file(sessions, campaign_id, csv_bytes([]))
    assert report.to_dict() == {
        "rows": 0,
        "accepted": 0,
        "duplicates": 0,
        "dnc": 0,
        "rejected_count": 0,
        "rejected": [],
        "zones": {},
    }


@pytest.mark.any_db
async def test_json_contacts_take_the_same_path(
    sessions: async_sessionmaker[AsyncSession], backend: str
) -> None:
    campaign_id = await _campaign(sessions, timezone="Asia/Omsk")
    await _block(sessions, "79100000003")
    report = await import_contacts(
        sessions,
        campaign_id,
        [
            {"phone": "+7 910 000-00-01", "vars": {"name": "Анна", "order": "A-1"}},
            {"phone": "8 910 000 00 01", "vars": {"name": "again", "order": "A-1"}},
            {"phone": "79100000003", "vars": {"name": "Блок", "order": "A-3"}},
            {"phone": "79100000004", "vars": {"name": "Ира"}, "voice": {"emotion": "sad"}},
            {"phone": 89100000005, "vars": {"name": "Оля", "order": 5}, "text": "{order}!"},
        ],
    )
    assert _summary(report) == _report(5, 2, duplicates=1, dnc_hits=1, rejected=1)
    assert [(r.line, r.column, r.value) for r in report.rejected] == [(4, "emotion", "sad")]
    contacts = await _contacts(sessions, campaign_id)
    assert [(c.phone, c.line, c.vars, c.text, c.timezone) for c in contacts] == [
        ("79100000001", 1, {"name": "Анна", "order": "A-1"}, None, "Europe/Moscow"),
        ("79100000005", 5, {"name": "Оля", "order": "5"}, "{order}!", "Europe/Moscow"),
    ]


async def test_json_contacts_over_the_limit_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _campaign(sessions)
    contacts = [{"phone": number(n), "vars": {"name": "x", "order": "y"}} for n in range(3)]
    with pytest.raises(ImportRefused, match="more than 2 contacts"):
        await import_contacts(sessions, campaign_id, contacts, limits=Limits(max_rows=2))
    assert await _contacts(sessions, campaign_id) == []


async def test_unknown_campaign_is_not_found(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(NotFound, match="campaign 999 does not exist"):
        await import_file(sessions, 999, csv_bytes(rows(1)))


async def test_large_import_is_chunked(sessions: async_sessionmaker[AsyncSession]) -> None:
    campaign_id = await _campaign(sessions)
    report = await import_file(sessions, campaign_id, csv_bytes(rows(INSERT_CHUNK + 10)))
    assert report.accepted == INSERT_CHUNK + 10
    assert len(await _contacts(sessions, campaign_id)) == INSERT_CHUNK + 10


async def test_a_failure_while_inserting_rolls_everything_back(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await _campaign(sessions)
    monkeypatch.setattr(importer, "INSERT_CHUNK", 2)
    real_insert = importer._insert

    async def insert_then_fail(*args: Any) -> None:
        await real_insert(*args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_insert", insert_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        await import_file(sessions, campaign_id, csv_bytes(rows(5)))
    assert await _contacts(sessions, campaign_id) == []


async def test_sqlite_page_cache_is_restored_after_an_import(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    campaign_id = await _campaign(sessions)
    async with engine.connect() as connection:
        default = (await connection.exec_driver_sql("PRAGMA cache_size")).scalar_one()
    await import_file(sessions, campaign_id, csv_bytes(rows(3)))
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA cache_size")).scalar_one() == default


@pytest.mark.parametrize(("given", "used"), [("tab", "\t"), ("\\t", "\t"), ("Semicolon", ";")])
def test_delimiter_may_be_named(given: str, used: str) -> None:
    sheet = read_file(b"phone\tname;x\n79100000001\ta;b\n", delimiter=given)
    assert sheet.delimiter == used


@given(st.lists(st.text(), min_size=2, max_size=2), st.text(min_size=1))
def test_vars_json_round_trips_any_text(values: list[str], column: str) -> None:
    header = ("phone", column.strip() or "x", "other")
    assume(header[1].casefold() not in {"phone", "other", "text", "messtext", "timezone"})
    assume(header[1].casefold() not in {"voice_name", "emotion", "speed_speech"})
    frame = pd.DataFrame([["79100000001", *values]], columns=list(header), index=[2], dtype="str")
    checked = check_rows(frame, message="hi", default_timezone="Europe/Moscow")
    assert json.loads(checked.contacts["vars"].iloc[0]) == dict(
        zip(header[1:], values, strict=True)
    )
