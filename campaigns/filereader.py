"""Turning an uploaded contacts file (CSV or XLSX), or a JSON contacts list, into a frame of
text cells, the one input of the row checks.

Encoding and delimiter are guessed from a sample so marketers can upload what Excel saved:
UTF-8 with or without BOM, UTF-16, Windows-1251 or KOI8-R (`campaigns.encodings`), unless the
caller names the encoding; `,`, `;` or tab; line breaks CRLF, LF or the old Mac CR. Every cell
comes back as text (a phone number must never become a float) with "" for empty, and the
frame's index is the file's row number as a spreadsheet shows it (the header is row 1), so
errors can point at it. NUL characters are dropped from every cell: no tool means one in a
contacts file (some pad fields with them), and PostgreSQL text cannot hold them. Work is
bounded by `Limits` before it starts: bytes, the header's columns, the XLSX's unpacked size.
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Final

import pandas as pd

from campaigns.encodings import (
    ascii_compatible,
    checked_encoding,
    detect_encoding,
    detect_single_byte,
    refuse_undecodable,
)
from campaigns.importlimits import REFUSALS, ImportRefused, Limits
from campaigns.xlsxreader import cell_text, read_first_rows, read_first_sheet

__all__ = [
    "ImportRefused",
    "Limits",
    "Sheet",
    "cell_text",
    "contacts_frame",
    "detect_delimiter",
    "detect_encoding",
    "read_file",
]

SAMPLE_BYTES: Final = 64 * 1024
DELIMITERS: Final = ",;\t"
_DELIMITER_NAMES: Final = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}
_NOT_DELIMITERS: Final = '"\r\n\x00'
_ZIP_MAGIC: Final = b"PK\x03\x04"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0"
_XLSX_SUFFIXES: Final = (".xlsx", ".xlsm")
PHONE_NAMES: Final = ("phone", "b_number", "number", "телефон", "номер")
TEXT_NAMES: Final = ("text", "messtext")
VOICE_COLUMNS: Final = {"voice_name": "voice_name", "emotion": "emotion", "speed_speech": "speed"}
"""Per-row voice columns and the `Voice` fields they override."""
TIMEZONE: Final = "timezone"


@dataclass(frozen=True, slots=True)
class Sheet:
    frame: pd.DataFrame
    """Text cells, "" when empty; index = row number in the file (header = 1)."""
    format: str
    encoding: str | None = None
    delimiter: str | None = None


def read_file(
    source: bytes | Path,
    *,
    filename: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    limits: Limits | None = None,
) -> Sheet:
    """`encoding` (a CSV's; an XLSX says its own) overrides detection."""
    limits = limits or Limits()
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size > limits.max_bytes:
        too_large = REFUSALS["too_large"].format(size=size, limit=limits.max_bytes)
        raise ImportRefused("file_too_large", too_large)
    name = (filename or (source.name if isinstance(source, Path) else "")).lower()
    data = source if isinstance(source, bytes) else source.read_bytes()
    if not data.strip():
        raise ImportRefused("empty_file", REFUSALS["empty"])
    if data.startswith(_ZIP_MAGIC) or name.endswith(_XLSX_SUFFIXES):
        return _read_xlsx(data, limits)
    if data.startswith(_OLE_MAGIC):
        raise ImportRefused("unsupported_format", REFUSALS["old_xls"])
    return _read_csv(data, delimiter, encoding, limits)


def detect_delimiter(text: str) -> str:
    """csv.Sniffer on whole lines of the sample; the header's most frequent candidate otherwise."""
    lines = text.splitlines()[:50]
    if len(lines) > 1 and len(text) >= SAMPLE_BYTES // 2:
        lines = lines[:-1]  # the sample may have cut the last line in half
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
        best = max(counts, key=lambda candidate: counts[candidate])
        return best if counts[best] else ","


def _read_csv(data: bytes, delimiter: str | None, encoding: str | None, limits: Limits) -> Sheet:
    named = encoding is not None
    encoding = (
        checked_encoding(encoding, data) if encoding else detect_encoding(data[:SAMPLE_BYTES])
    )
    parse_as = encoding
    if not ascii_compatible(encoding):  # UTF-16/32: the parsers below split bytes on ASCII
        try:
            data, parse_as = data.decode(encoding).encode(), "utf-8"
        except UnicodeDecodeError as error:
            raise refuse_undecodable(encoding, error) from None
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    sample = data[:SAMPLE_BYTES].decode(parse_as, errors="ignore")
    delimiter = _DELIMITER_NAMES.get((delimiter or "").lower(), delimiter)
    if delimiter is None:
        delimiter = detect_delimiter(sample)
    elif len(delimiter) != 1 or delimiter in _NOT_DELIMITERS:
        raise ImportRefused(
            "bad_delimiter", REFUSALS["bad_delimiter"].format(value=repr(delimiter))
        )
    # pandas would rename a repeated header ("a.1"); read it ourselves to refuse repeats
    header = _header(sample, delimiter, len(data) <= SAMPLE_BYTES, limits.max_columns)
    frame = _parse_csv(data, parse_as, delimiter, limits.max_rows)
    if frame is None and not named and parse_as == "utf-8":
        # the sample was UTF-8 but a later part is not: judge the code page from there on
        encoding = parse_as = detect_single_byte(_from_first_non_utf8(data))
        frame = _parse_csv(data, parse_as, delimiter, limits.max_rows)
    if frame is None:
        raise refuse_undecodable(encoding)
    if len(header) != len(frame.columns):
        header = [str(column) for column in frame.columns]
    frame.columns = pd.Index(header)
    return Sheet(_tidy(frame, limits.max_rows), "csv", encoding, delimiter)


def _header(sample: str, delimiter: str, whole: bool, max_columns: int) -> list[str]:
    """The first record, which must end within the sample (unless the sample is the whole
    file) and name at most `max_columns` columns: rows wider than it are refused by the parser,
    so it bounds the width of everything read after."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        if len(header) > max_columns:
            wide = REFUSALS["many_columns" if whole else "many_columns_more"]
            raise ImportRefused(
                "too_many_columns", wide.format(count=len(header), limit=max_columns)
            )
        if not whole and next(reader, None) is None:
            long = REFUSALS["long_header"].format(size=SAMPLE_BYTES // 1024)
            raise ImportRefused("header_too_long", long)
    except csv.Error as error:
        raise ImportRefused("unreadable", REFUSALS["bad_header"].format(detail=error)) from None
    return header


def _from_first_non_utf8(data: bytes) -> bytes:
    try:
        codecs.decode(data, "utf-8")
    except UnicodeDecodeError as error:
        return data[error.start : error.start + SAMPLE_BYTES]
    return data[:SAMPLE_BYTES]


def _parse_csv(data: bytes, encoding: str, delimiter: str, max_rows: int) -> pd.DataFrame | None:
    """pyarrow's parser when row numbers cannot shift (it skips blank lines), else pandas' C one."""
    if not _has_blank_lines(data):
        try:
            return pd.read_csv(
                io.BytesIO(data),
                engine="pyarrow",
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
            )
        except (pd.errors.ParserError, ValueError):
            pass  # short rows or undecodable bytes: the C parser fills them or says why
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a long first row
            return pd.read_csv(
                io.BytesIO(data),
                engine="c",
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                index_col=False,
                skip_blank_lines=False,
                nrows=max_rows + 1,
            )
    except UnicodeDecodeError:
        return None
    except pd.errors.EmptyDataError:
        raise ImportRefused("empty_file", REFUSALS["no_header"]) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as error:
        raise ImportRefused("unreadable", REFUSALS["unreadable"].format(detail=error)) from None


def _has_blank_lines(data: bytes) -> bool:
    body = data.rstrip()
    return b"\n\n" in body or b"\n\r\n" in body or b"\r\r" in body


def _read_xlsx(data: bytes, limits: Limits) -> Sheet:
    header, rows = read_first_sheet(data, limits)
    if not any(name.strip() for name in header):
        raise ImportRefused("empty_file", REFUSALS["sheet_no_header_hint"])
    width = max(len(header), max(map(len, rows), default=0))
    header.extend([""] * (width - len(header)))
    for row in rows:
        row.extend([""] * (width - len(row)))
    frame = pd.DataFrame(rows, columns=pd.Index(range(width)), dtype=str)
    frame.columns = pd.Index(header)
    return Sheet(_tidy(frame, limits.max_rows), "xlsx")


def _tidy(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """Named unique columns, blank rows and blank unnamed columns dropped, index = row number."""
    if len(frame) > max_rows:
        raise ImportRefused("too_many_rows", REFUSALS["too_many_rows"].format(limit=max_rows))
    frame = frame.fillna("")
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    names = [str(name).strip() for name in frame.columns]
    keep = [
        position
        for position, name in enumerate(names)
        if name or frame.iloc[:, position].str.strip().ne("").any()
    ]
    frame = frame.iloc[:, keep]
    names = [names[position] or f"column {position + 1}" for position in keep]
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            repeated = REFUSALS["duplicate_column"].format(name=repr(name))
            raise ImportRefused("duplicate_column", repeated)
        seen.add(name.casefold())
    frame.columns = pd.Index(names)
    blank = (frame == "").all(axis=1) if len(frame.columns) else pd.Series(True, frame.index)
    return frame.loc[~blank]


_CONTACT_FIELDS: Final = ("phone", "vars", "text", "messText", "voice", "timezone", *VOICE_COLUMNS)


def contacts_frame(contacts: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A JSON contacts list as the text frame a file gives; the line is the 1-based position."""
    reserved = {"phone", TIMEZONE, *TEXT_NAMES, *VOICE_COLUMNS}
    rows: list[dict[str, str]] = []
    names: dict[str, None] = {"phone": None}
    for position, contact in enumerate(contacts, start=1):
        unknown = set(contact) - set(_CONTACT_FIELDS)
        if unknown:
            raise ImportRefused(
                "bad_contacts", f"contact {position}: unknown field(s) {', '.join(sorted(unknown))}"
            )
        variables = contact.get("vars") or {}
        voice = contact.get("voice") or {}
        if not isinstance(variables, Mapping) or not isinstance(voice, Mapping):
            raise ImportRefused("bad_contacts", f"contact {position}: vars and voice are objects")
        extra = set(voice) - set(VOICE_COLUMNS.values())
        if extra:
            raise ImportRefused(
                "bad_contacts",
                f"contact {position}: voice field(s) {', '.join(sorted(extra))} cannot be set "
                f"per contact; these can: {', '.join(VOICE_COLUMNS.values())}",
            )
        clash = [str(name) for name in variables if str(name).casefold() in reserved]
        if clash:
            raise ImportRefused(
                "bad_contacts",
                f"contact {position}: variable(s) {', '.join(clash)} clash with "
                "contact fields of the same name",
            )
        row = {cell_text(k): cell_text(v) for k, v in variables.items()}
        row["phone"] = cell_text(contact.get("phone"))
        row["text"] = cell_text(contact.get("text", contact.get("messText")))
        row[TIMEZONE] = cell_text(contact.get(TIMEZONE))
        for column, name in VOICE_COLUMNS.items():
            row[column] = cell_text(contact.get(column, voice.get(name)))
        names.update(dict.fromkeys(row))
        rows.append(row)
    frame = pd.DataFrame.from_records(rows, columns=list(names)).fillna("").astype(str)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


HEAD_BYTES: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class Head:
    """The first rows of a file, read without reading the rest (the console's preview)."""

    sheet: Sheet
    """Its frame holds at most the rows asked for, numbered as `read_file` numbers them."""
    rows_estimate: int
    """Data rows in the whole file: exact when `complete`, else guessed from the size."""
    complete: bool


def read_head(
    path: Path, *, rows: int = 20, delimiter: str | None = None, limits: Limits | None = None
) -> Head:
    """The header and first `rows` rows by the rules of `read_file` (encoding, delimiter,
    column names), reading at most `HEAD_BYTES` of a CSV and `rows` rows of an XLSX (under
    the same unpacked-size and column caps as a whole read)."""
    with path.open("rb") as handle:
        data = handle.read(HEAD_BYTES)
    if not data.strip():
        raise ImportRefused("empty_file", REFUSALS["empty"])
    if data.startswith(_ZIP_MAGIC) or path.name.lower().endswith(_XLSX_SUFFIXES):
        return _head_xlsx(path, rows, limits or Limits())
    if data.startswith(_OLE_MAGIC):
        raise ImportRefused("unsupported_format", REFUSALS["old_xls"])
    size = path.stat().st_size
    complete = size <= len(data)
    if not complete:
        data = data[: data.rfind(b"\n") + 1] or data
    encoding = detect_encoding(data)
    text = data.decode(encoding, errors="replace")
    delimiter = _DELIMITER_NAMES.get((delimiter or "").lower(), delimiter)
    if delimiter is None:
        delimiter = detect_delimiter(text)
    elif len(delimiter) != 1:
        raise ImportRefused(
            "bad_delimiter", REFUSALS["bad_delimiter"].format(value=repr(delimiter))
        )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records = list(reader if complete else islice(reader, 2 * rows + 1))
    if not records:
        raise ImportRefused("empty_file", REFUSALS["no_header"])
    header, body = records[0], records[1:]
    sheet = Sheet(_head_frame(header, body, rows), "csv", encoding, delimiter)
    if complete:
        return Head(sheet, len(_tidy(_frame(header, body), len(body) + 1)), complete=True)
    estimate = round((data.count(b"\n") - 1) * size / len(data))
    return Head(sheet, estimate, complete=False)


def _frame(header: list[str], body: list[list[str]]) -> pd.DataFrame:
    width = len(header)
    cells = [(row + [""] * width)[:width] for row in body]
    frame = pd.DataFrame(cells, columns=pd.Index(range(width)), dtype=str)
    frame.columns = pd.Index(header)
    return frame


def _head_frame(header: list[str], body: list[list[str]], rows: int) -> pd.DataFrame:
    """The first `rows` non-blank rows through `_tidy`, as `read_file` would give them."""
    kept: list[list[str]] = []
    taken = 0
    for row in body:
        kept.append(row)
        taken += any(cell.strip() for cell in row)
        if taken >= rows:
            break
    return _tidy(_frame(header, kept), len(kept) + 1)


def _head_xlsx(path: Path, rows: int, limits: Limits) -> Head:
    header, body, total = read_first_rows(path.read_bytes(), limits, rows)
    if not header:
        raise ImportRefused("empty_file", REFUSALS["sheet_no_header"])
    width = len(header)
    body = [[*row[:width], *[""] * (width - len(row))] for row in body]
    return Head(Sheet(_head_frame(header, body, rows), "xlsx"), total, total <= len(body))
