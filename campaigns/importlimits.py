"""What a contacts upload may be, and the one error that refuses it whole.

Every reader (CSV, XLSX, encodings, row checks) raises `ImportRefused`, so the API answers any
unreadable or oversized upload with one 422 shape, naming the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from campaigns.errors import CampaignError

__all__ = ["REFUSALS", "ImportRefused", "Limits"]

REFUSALS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "too_large": "file is {size} bytes; the limit is {limit} bytes",
        "empty": "file is empty",
        "no_header": "file has no header row",
        "sheet_no_header_hint": "the first sheet has no header row: names go in row 1",
        "sheet_no_header": "the first sheet has no header row",
        "old_xls": "old binary .xls is not supported: save the file as XLSX or CSV",
        "many_columns_more": "the header row has {count} or more columns; the limit is {limit}",
        "many_columns": "the header row has {count} columns; the limit is {limit}",
        "long_header": "the header row is longer than {size} KiB",
        "bad_header": "cannot parse the CSV header: {detail}",
        "unreadable": "cannot parse the CSV: {detail}",
        "too_many_rows": "file has more than {limit} rows",
        "duplicate_column": "column {name} appears more than once",
        "bad_delimiter": "delimiter must be one character, got {value}",
        "unknown_encoding": "unknown encoding {name}",
        "not_text_encoding": "{name} is not a text encoding",
        "xlsx_unopenable": "cannot open the XLSX: {detail}",
        "xlsx_unreadable": "cannot read the XLSX: {detail}",
        "xlsx_too_large": "the XLSX unpacks to {size} bytes; the limit is {limit} bytes",
        "no_worksheet": "the file has no worksheet",
        "wide_sheet": (
            "the sheet's used range {range} spans {count} columns; the limit is {limit}: "
            "delete the empty ones or save as CSV"
        ),
        "wide_row": "row {row} has a cell in column {column}; the limit is {limit} columns",
    }
)
"""The readers' (CSV, XLSX, encodings) refusals by a stable name, formatted from these templates
so a translation recognises them; a template that another one fits is listed after it."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 100 * 1024 * 1024
    max_rows: int = 2_000_000
    max_columns: int = 256
    max_unzipped_bytes: int = 512 * 1024 * 1024
    """An XLSX's members unpacked; a legitimate sheet unpacks to about ten times its size."""


class ImportRefused(CampaignError):
    """The whole import is refused and nothing stored; `reason` says why in one word."""

    code = "import_refused"
    status = 422

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, details={"reason": reason})
        self.reason = reason
