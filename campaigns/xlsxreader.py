"""Reading the first sheet of an XLSX upload with work bounded by `Limits`, whatever it claims.

A 10 KiB XLSX can unpack to gigabytes, or hold a first row of 280,000 cells that openpyxl
builds whole (it parses each row as one complete XML element) before handing it over: 16 s and
1.4 GB. So before any parsing, the zip's declared sizes (zipfile never unpacks past them) and
the sheet's declared dimension are checked; then the sheet's XML is streamed one cell at a
time, each cell through openpyxl's own cell parser (shared strings, dates, inline strings) and
dropped once read, and reading stops at the first cell beyond the column cap or row beyond the
row cap.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Final, TypeVar
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import iterparse
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from campaigns.importlimits import REFUSALS, ImportRefused, Limits

__all__ = ["cell_text", "read_first_sheet"]

_ROW: Final = f"{{{SHEET_MAIN_NS}}}row"
_CELL: Final = f"{{{SHEET_MAIN_NS}}}c"
_CELL_DEPTH: Final = 4
"""worksheet > sheetData > row > c: elements down to a cell are dropped once read."""
_UNOPENABLE: Final = REFUSALS["xlsx_unopenable"]


_T = TypeVar("_T")


def read_first_sheet(data: bytes, limits: Limits) -> tuple[list[str], list[list[str]]]:
    """Row 1's cells as text, and each later row's (list index = row number - 2), unpadded."""
    header, rows, _ = _read_opened(data, limits, _read)
    return header, rows


def read_first_rows(
    data: bytes, limits: Limits, count: int
) -> tuple[list[str], list[list[str]], int]:
    """Row 1 and the sheet's next `count` rows, under the same caps as a whole read, and the
    number of rows below the header that the sheet declares (for a preview's estimate)."""

    def head(book: Workbook, limits: Limits) -> tuple[list[str], list[list[str]], int]:
        sheet = _checked_sheet(book, limits)
        header: list[str] = []
        rows: list[list[str]] = []
        for number, cells in _rows(book, sheet, limits):
            if number == 1:
                header = cells
            else:
                rows.append(cells)
                if len(rows) >= count:
                    break
        return header, rows, max((sheet.max_row or 1) - 1, len(rows))

    return _read_opened(data, limits, head)


def _read_opened(data: bytes, limits: Limits, read: Callable[[Workbook, Limits], _T]) -> _T:
    _check_unpacked_size(data, limits.max_unzipped_bytes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about what it skips: styles, extensions
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many unrelated types for a broken file
            raise ImportRefused("unreadable", _UNOPENABLE.format(detail=error)) from None
        try:
            return read(book, limits)
        except ImportRefused:
            raise
        except Exception as error:  # a broken sheet: bad XML, cell references, string indexes
            unreadable = REFUSALS["xlsx_unreadable"].format(detail=error)
            raise ImportRefused("unreadable", unreadable) from None
        finally:
            book.close()


def cell_text(value: object) -> str:
    """A cell as people read it: Excel keeps phone numbers as floats, shown without '.0'."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _check_unpacked_size(data: bytes, limit: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except Exception as error:  # zipfile raises several types for a broken archive
        raise ImportRefused("unreadable", _UNOPENABLE.format(detail=error)) from None
    if unpacked > limit:
        too_large = REFUSALS["xlsx_too_large"].format(size=unpacked, limit=limit)
        raise ImportRefused("file_too_large", too_large)


def _checked_sheet(book: Workbook, limits: Limits) -> ReadOnlyWorksheet:
    sheet = next(iter(book.worksheets), None)
    if not isinstance(sheet, ReadOnlyWorksheet):
        raise ImportRefused("empty_file", REFUSALS["no_worksheet"])
    if (sheet.max_column or 0) > limits.max_columns:
        wide = {"range": sheet.calculate_dimension(), "count": sheet.max_column}
        problem = REFUSALS["wide_sheet"].format(**wide, limit=limits.max_columns)
        raise ImportRefused("too_many_columns", problem)
    if (sheet.max_row or 0) - 1 > limits.max_rows:
        raise ImportRefused(
            "too_many_rows", REFUSALS["too_many_rows"].format(limit=limits.max_rows)
        )
    return sheet


def _read(book: Workbook, limits: Limits) -> tuple[list[str], list[list[str]], int]:
    sheet = _checked_sheet(book, limits)
    header: list[str] = []
    rows: list[list[str]] = []
    for number, cells in _rows(book, sheet, limits):
        if number == 1:
            header = cells
            continue
        rows.extend([] for _ in range(number - 2 - len(rows)))  # rows the sheet leaves out
        rows.append(cells)
    return header, rows, len(rows)


def _rows(
    book: Workbook, sheet: ReadOnlyWorksheet, limits: Limits
) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) in sheet order; a row repeating an earlier number is skipped,
    as openpyxl does. openpyxl has no public cell-by-cell reader, hence its private parts."""
    with sheet._get_source() as source:  # type: ignore[attr-defined]
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,  # type: ignore[attr-defined]
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,  # type: ignore[attr-defined]
            timedelta_formats=book._timedelta_formats,  # type: ignore[attr-defined]
        )
        open_elements: list[Element] = []
        number = last = 0
        cells: list[str] = []
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                open_elements.append(element)
                if element.tag == _ROW:
                    number = _row_number(element.get("r"), number)
                    if number - 1 > limits.max_rows:
                        too_many = REFUSALS["too_many_rows"].format(limit=limits.max_rows)
                        raise ImportRefused("too_many_rows", too_many)
                    parser.row_counter, parser.col_counter, cells = number, 0, []
                continue
            open_elements.pop()
            if element.tag == _CELL:
                cell = parser.parse_cell(element)
                _place(cells, int(cell["column"]), cell["value"], number, limits.max_columns)
            elif element.tag == _ROW and number > last:
                last = number
                yield number, cells
            if open_elements and len(open_elements) < _CELL_DEPTH:
                open_elements[-1].clear()


def _row_number(given: str | None, previous: int) -> int:
    if given is None:
        return previous + 1
    number = float(given)
    if not number.is_integer() or number < 1:
        raise ValueError(f"{given!r} is not a row number")
    return int(number)


def _place(cells: list[str], column: int, value: object, row: int, max_columns: int) -> None:
    if column > max_columns:
        problem = REFUSALS["wide_row"].format(row=row, column=column, limit=max_columns)
        raise ImportRefused("too_many_columns", problem)
    text = cell_text(value)
    if column > len(cells):
        cells.extend([""] * (column - 1 - len(cells)))
        cells.append(text)
    else:
        cells[column - 1] = text
