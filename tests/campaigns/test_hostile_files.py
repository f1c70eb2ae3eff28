"""Uploads as careless users and attackers make them (issue 15, items 2-4): odd line breaks,
encodings, NUL bytes, files built to make the reader work without bound, and random bytes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from campaigns.db import write_transaction
from campaigns.filereader import ImportRefused, Limits, contacts_frame, read_file
from campaigns.importer import ImportReport, import_file
from campaigns.tables import Campaign, Contact
from tests.api.support import Sessions
from tests.campaigns.files import csv_bytes, xlsx_bytes, xlsx_with_sheet

_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ANNA = [["8 (910) 123-45-67", "Анна Пётровна", "Заказ 17"], ["89100000002", "Иван", "Б-2"]]


def _refused(reason: str, data: bytes, **options: object) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        read_file(data, **options)  # type: ignore[arg-type]
    assert caught.value.reason == reason, caught.value.message
    return caught.value


# --- item 2: line breaks -------------------------------------------------------------------


def test_cr_only_line_endings_are_read() -> None:
    sheet = read_file(b"phone,name\r79101234570,Ann\r")
    assert sheet.frame.to_dict("index") == {2: {"phone": "79101234570", "name": "Ann"}}


def test_cr_only_blank_lines_keep_the_numbering() -> None:
    frame = read_file(b"phone;name\r79100000001;a\r\r79100000002;b\r").frame
    assert frame.index.tolist() == [2, 4]


# --- item 3: bounded work ------------------------------------------------------------------


def test_a_csv_wider_than_the_column_cap_is_refused_before_parsing() -> None:
    header = ",".join(["phone", *(f"c{n}" for n in range(100_000))])
    data = f"{header}\n79101234567{',x' * 100_000}\n".encode()
    start = time.perf_counter()
    error = _refused("too_many_columns", data)
    assert time.perf_counter() - start < 5
    assert "the limit is 256" in error.message


def test_the_column_cap_is_a_limit() -> None:
    data = csv_bytes(_ANNA)
    assert list(read_file(data, limits=Limits(max_columns=3)).frame.columns) == [
        "телефон",
        "name",
        "order",
    ]
    error = _refused("too_many_columns", data, limits=Limits(max_columns=2))
    assert error.message == "the header row has 3 columns; the limit is 2"


def test_a_csv_header_longer_than_the_sample_is_refused() -> None:
    header = ",".join(["phone", *(f"column number {n:05d}" for n in range(200))]) + ",x" * 60_000
    _refused("header_too_long", f"{header}\n1\n".encode(), limits=Limits(max_columns=10**6))


def test_an_xlsx_declaring_more_columns_than_the_cap_is_refused_before_its_rows() -> None:
    data = xlsx_with_sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>phone</t></is></c></row>')
    assert list(read_file(data).frame.columns) == ["phone"]
    wide = xlsx_with_sheet("<row><c><v>1</v></c></row>", dimension="A1:XFD2")
    error = _refused("too_many_columns", wide)
    assert "used range A1:XFD2 spans 16384 columns; the limit is 256" in error.message


def test_an_xlsx_row_of_280000_cells_stops_at_the_cap() -> None:
    data = xlsx_with_sheet("<row>" + "<c><v>1</v></c>" * 280_000 + "</row>")
    assert len(data) < 20_000
    start = time.perf_counter()
    error = _refused("too_many_columns", data)
    assert time.perf_counter() - start < 20  # main: 43 s; openpyxl still scans for a dimension
    assert error.message == "row 1 has a cell in column 257; the limit is 256 columns"


def test_an_xlsx_without_a_dimension_stops_at_the_row_cap() -> None:
    rows = "".join(f'<row r="{n}"><c><v>{n}</v></c></row>' for n in range(1, 12))
    data = xlsx_with_sheet(rows)
    assert len(read_file(data, limits=Limits(max_rows=10)).frame) == 10
    _refused("too_many_rows", data, limits=Limits(max_rows=9))
    far = xlsx_with_sheet('<row r="1"><c><v>1</v></c></row><row r="1048576"><c><v>2</v></c></row>')
    _refused("too_many_rows", far, limits=Limits(max_rows=1000))


def test_an_xlsx_unpacking_beyond_the_limit_is_refused() -> None:
    data = xlsx_bytes(_ANNA)
    assert len(read_file(data, limits=Limits(max_unzipped_bytes=100_000)).frame) == 2
    error = _refused("file_too_large", data, limits=Limits(max_unzipped_bytes=1000))
    assert "unpacks to" in error.message


def test_xlsx_rows_keep_their_sheet_row_numbers_and_cells_beyond_the_header() -> None:
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>phone</t></is></c></row>'
        '<row r="3"><c r="A3"><v>79100000001</v></c><c r="C3" t="inlineStr"><is><t>x</t></is></c>'
        "</row>"
    )
    frame = read_file(xlsx_with_sheet(rows)).frame
    assert frame.to_dict("index") == {3: {"phone": "79100000001", "column 3": "x"}}


# --- item 4: encodings and NUL -------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [
        ("koi8-r", False, "koi8-r"),
        ("utf-16", False, "utf-16"),
        ("utf-16-le", False, "utf-16-le"),
        ("utf-16-be", False, "utf-16-be"),
        ("utf-8", True, "utf-8-sig"),
    ],
)
def test_koi8_r_and_utf_16_files_are_read(encoding: str, bom: bool, detected: str) -> None:
    sheet = read_file(csv_bytes(_ANNA, encoding=encoding, bom=bom, delimiter=";"))
    assert (sheet.encoding, sheet.delimiter) == (detected, ";")
    assert sheet.frame.values.tolist() == _ANNA


def test_a_named_encoding_overrides_detection() -> None:
    data = "phone;name\n79101234567;Müller\n".encode("latin-1")
    _refused("unknown_encoding", data)
    sheet = read_file(data, encoding="Latin-1")
    assert (sheet.encoding, sheet.frame["name"].tolist()) == ("iso8859-1", ["Müller"])
    assert read_file(csv_bytes(_ANNA, bom=True), encoding="utf8").frame.columns[0] == "телефон"


@pytest.mark.parametrize(
    ("encoding", "reason", "message"),
    [
        ("klingon", "bad_encoding", "unknown encoding 'klingon'"),
        ("rot13", "bad_encoding", "'rot13' is not a text encoding"),
        ("utf-8", "unreadable", "the file is not valid utf-8 text: save it as UTF-8"),
        ("utf-32", "unreadable", "the file is not valid utf-32 text (byte 0: "),
    ],
)
def test_a_bad_or_wrong_encoding_name_is_refused_naming_it(
    encoding: str, reason: str, message: str
) -> None:
    error = _refused(reason, csv_bytes(_ANNA, encoding="cp1251"), encoding=encoding)
    assert error.message.startswith(message)


def test_nul_bytes_are_dropped_from_csv_cells_and_json_contacts() -> None:
    frame = read_file(b"pho\x00ne;name\n7910\x001234567;A\x00nn\x00\n").frame
    assert frame.to_dict("index") == {2: {"phone": "79101234567", "name": "Ann"}}
    contacts = contacts_frame([{"phone": "7910\x001234567", "vars": {"na\x00me": "A\x00nn"}}])
    assert (contacts.at[1, "phone"], contacts.at[1, "name"]) == ("79101234567", "Ann")


@pytest.mark.any_db
async def test_no_nul_byte_reaches_the_database(sessions: Sessions, backend: str) -> None:
    campaign_id = await _campaign(sessions)
    data = b"phone;name;order\n7910\x001234567;A\x00nn;\x00A-1\n"
    report = await import_file(sessions, campaign_id, data)
    assert report.accepted == 1
    async with sessions() as session:
        stored = (await session.scalars(select(Contact))).one()
    assert (stored.phone, stored.vars) == ("79101234567", {"name": "Ann", "order": "A-1"})


# --- any bytes: the import's own refusal or a report, nothing else --------------------------

_CSV_PIECES = st.sampled_from(
    [
        b"phone",
        b"name",
        b"79101234567",
        b",",
        b";",
        b"\t",
        b"\r",
        b"\n",
        b'"',
        b"\x00",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        "Анна".encode("koi8-r"),
        "Анна".encode("cp1251"),
        "Анна".encode("utf-16-le"),
        "Анна".encode(),
    ]
)
csv_files = st.one_of(st.binary(max_size=2000), st.lists(_CSV_PIECES, max_size=60).map(b"".join))


_GOOD_XLSX = xlsx_bytes(_ANNA)  # once: xlsxwriter stamps the time, which changes its length


@st.composite
def xlsx_files(draw: st.DrawFn) -> bytes:
    """Random bytes; a real XLSX with bytes overwritten; one whose sheet is random XML."""
    kind = draw(st.sampled_from(["bytes", "corrupt", "sheet"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    good = _GOOD_XLSX
    if kind == "corrupt":
        at = draw(st.integers(0, len(good) - 1))
        return good[:at] + draw(st.binary(min_size=1, max_size=50)) + good[at + 50 :]
    pieces = st.sampled_from(
        [
            *("<row>", "</row>", '<row r="2">', "<c>", "</c>", '<c r="B1" t="s">', "<v>", "</v>"),
            *('<c t="inlineStr">', "<is><t>x</t></is>", "1", "7", "-1", "1e308", "A0", "&amp;"),
            *('<c r="ZZZZ9">', '<row r="0">', '<row r="x">', "<f>A1</f>", '<c t="b">', "<"),
        ]
    )
    return xlsx_with_sheet("".join(draw(st.lists(pieces, max_size=40))))


async def _campaign(sessions: Sessions) -> int:
    async with write_transaction(sessions) as session:
        campaign = Campaign(name="fuzz", message="Hello", created_at=_NOW, updated_at=_NOW)
        session.add(campaign)
        await session.flush()
        return campaign.id


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(csv_files.map(lambda d: ("a.csv", d)), xlsx_files().map(lambda d: ("a.xlsx", d)))
)
async def test_any_bytes_are_imported_or_refused_by_the_import(
    sessions: Sessions, data: tuple[str, bytes]
) -> None:
    filename, content = data
    campaign_id = await _campaign(sessions)
    outcome: ImportReport | ImportRefused
    try:
        outcome = await import_file(sessions, campaign_id, content, filename=filename)
    except ImportRefused as refused:
        outcome = refused
    assert isinstance(outcome, ImportReport | ImportRefused)
    assert json.dumps(outcome.to_dict() if isinstance(outcome, ImportReport) else outcome.details)
