"""What a contacts upload may be, and the one error that refuses it whole.

Every reader (CSV, XLSX, encodings, row checks) raises `ImportRefused`, so the API answers any
unreadable or oversized upload with one 422 shape, naming the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.errors import CampaignError

__all__ = ["ImportRefused", "Limits"]


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
