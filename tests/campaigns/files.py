"""Factories for contacts files as marketers' tools write them, and for parsing exports back."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence

import xlsxwriter
from openpyxl import load_workbook

Row = Sequence[object]

HEADER = ("телефон", "name", "order")


def rows(count: int, *, start: int = 0) -> list[list[str]]:
    """`count` contacts with distinct Moscow mobiles in assorted spellings."""
    spellings = ("8 (910) {a}-{b}-{c}", "+7 910 {a}{b}{c}", "7910{a}{b}{c}", "910{a}{b}{c}")
    out = []
    for n in range(start, start + count):
        digits = f"{n:07d}"
        phone = spellings[n % len(spellings)].format(a=digits[:3], b=digits[3:5], c=digits[5:])
        out.append([phone, f"Имя {n}", f"A-{n}"])
    return out


def number(n: int) -> str:
    """The normalised form of the number in `rows()` position `n`."""
    return f"7910{n:07d}"


def csv_bytes(
    table: Sequence[Row],
    *,
    header: Row = HEADER,
    encoding: str = "utf-8",
    delimiter: str = ",",
    bom: bool = False,
    line_end: str = "\r\n",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(table)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def xlsx_bytes(table: Sequence[Row], *, header: Row = HEADER) -> bytes:
    """An XLSX the way Excel stores it: numbers as numbers unless given as text."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Контакты")
    for position, row in enumerate([header, *table]):
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(position, column, value)
            else:
                sheet.write(position, column, value)
    book.close()
    return buffer.getvalue()


def xlsx_with_sheet(rows_xml: str, *, dimension: str | None = None) -> bytes:
    """An XLSX whose first sheet's `sheetData` is `rows_xml`, as a hostile tool could write it."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + (f'<dimension ref="{dimension}"/>' if dimension else "")
        + f"<sheetData>{rows_xml}</sheetData></worksheet>"
    )
    return replace_member(xlsx_bytes([]), "xl/worksheets/sheet1.xml", sheet.encode())


def replace_member(xlsx: bytes, name: str, content: bytes) -> bytes:
    """The XLSX with one zip member's content replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            data = content if member.filename == name else source.read(member)
            target.writestr(member.filename, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def read_csv_export(data: bytes, delimiter: str = ";") -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "exports start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def read_xlsx_export(data: bytes) -> dict[str, list[list[object]]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    try:
        return {
            sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets
        }
    finally:
        book.close()
