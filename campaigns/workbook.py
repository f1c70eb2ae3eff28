"""Export rows as an XLSX workbook without losing any.

xlsxwriter enforces XLSX's limits by returning a code and dropping data: a cell past column
16,384 or row 1,048,576 is skipped, a text over 32,767 characters is cut and the rest of its
row skipped. Here rows past a sheet's last continue on a further sheet (each with the header),
and anything else XLSX cannot hold refuses the export with a hint to use CSV instead.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import xlsxwriter

from campaigns.errors import Invalid

__all__ = ["XLSX_MAX_COLUMNS", "XLSX_MAX_ROWS", "write_workbook"]

XLSX_MAX_ROWS: Final = 1_048_576
XLSX_MAX_COLUMNS: Final = 16_384
_READ_BLOCK: Final = 1024 * 1024
_TRUNCATED: Final = -2
"""xlsxwriter's answer for a text it cut to the cell limit."""


async def write_workbook(
    header: list[Any],
    chunks: AsyncIterator[list[tuple[Any, ...]]],
    sheet_rows: int,
    *,
    created: datetime,
) -> AsyncIterator[bytes]:
    """xlsxwriter in constant-memory mode into a temporary file, streamed once complete: a
    refusal (`Invalid`) comes before the first byte, while the API can still answer an error."""
    with tempfile.TemporaryDirectory(prefix="dialer-export-") as folder:
        path = Path(folder) / "export.xlsx"
        book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "tmpdir": folder,
            },
        )
        # the file's creation time is its only part that is not the rows: `created` fixes it
        book.set_properties({"created": created.astimezone(UTC).replace(tzinfo=None)})
        sheets = _Sheets(book, header, sheet_rows)
        try:
            async for rows in chunks:
                await asyncio.to_thread(sheets.write, rows)
        finally:
            await asyncio.to_thread(book.close)
        with path.open("rb") as stream:
            while block := await asyncio.to_thread(stream.read, _READ_BLOCK):
                yield block


class _Sheets:
    """Rows into worksheets of at most `limit` rows each, the header atop every one; a cell
    xlsxwriter would truncate or skip (it only returns a code) refuses the export."""

    def __init__(self, book: Any, header: list[Any], limit: int) -> None:
        if limit < 2:
            raise ValueError(f"a sheet of {limit} rows has no room below its header")
        self._book = book
        self._header = header
        self._limit = limit
        self._sheet: Any = None
        self._row = 0
        self._written = 0
        self._next_sheet()

    def _next_sheet(self) -> None:
        count = len(self._book.worksheets()) + 1
        self._sheet = self._book.add_worksheet("results" if count == 1 else f"results ({count})")
        self._check(self._sheet.write_row(0, 0, self._header), "the header")
        self._row = 1

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        for values in rows:
            if self._row == self._limit:
                self._next_sheet()
            self._written += 1
            self._check(self._sheet.write_row(self._row, 0, values), f"row {self._written}")
            self._row += 1

    @staticmethod
    def _check(code: int, where: str) -> None:
        if code == _TRUNCATED:
            reason = "text longer than XLSX's 32,767 characters a cell"
        elif code:
            reason = f"a value XLSX cannot hold (xlsxwriter code {code})"
        else:
            return
        raise Invalid("format", f"{where} has {reason}: export as CSV (format=csv)")
