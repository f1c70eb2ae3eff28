"""The do-not-call list in files: an upload of numbers read and checked by the contacts'
own reader (`campaigns.filereader`, `campaigns.rowchecks`), with the same kind of report, and
the whole list as CSV, streamed a page at a time."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import dnc
from campaigns.db import write_transaction
from campaigns.filereader import Limits, read_file
from campaigns.rowchecks import Checked, Rejection, check_rows
from campaigns.states import DncSource
from campaigns.tables import Dnc

__all__ = ["CSV_COLUMNS", "DncUploadReport", "csv_chunks", "upload"]

CSV_COLUMNS: Final = ("phone", "source", "reason", "added_at")
CSV_PAGE: Final = 10_000
INSERT_CHUNK: Final = 10_000
_ZONE: Final = "Europe/Moscow"
_MESSAGE: Final = "-"
"""The row checks' campaign zone and message: the list keeps neither, but with an empty
message every row would be refused for having nothing to say."""


@dataclass(frozen=True, slots=True)
class DncUploadReport:
    rows: int
    added: int
    already_listed: int
    duplicates: int
    rejected_count: int
    rejected: tuple[Rejection, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"rejected": [asdict(r) for r in self.rejected]}


async def upload(
    sessions: async_sessionmaker[AsyncSession],
    source: bytes | Path,
    *,
    now: datetime,
    reason: str | None = None,
    filename: str | None = None,
    phone_column: str | None = None,
    delimiter: str | None = None,
    limits: Limits | None = None,
) -> DncUploadReport:
    """List every valid number of the file (source `import`, `reason` for all); rows with a
    bad number are reported by line, as a contacts import reports them, and numbers listed
    already keep their entry. ImportRefused, having stored nothing, for an unreadable file."""

    def read_and_check() -> Checked:
        sheet = read_file(source, filename=filename, delimiter=delimiter, limits=limits)
        return check_rows(
            sheet.frame, message=_MESSAGE, default_timezone=_ZONE, phone_column=phone_column
        )

    checked = await asyncio.to_thread(read_and_check)
    phones = checked.contacts["phone"].tolist()
    async with write_transaction(sessions) as session:
        listed = await dnc.bulk_filter(session, phones)
        fresh = [phone for phone in phones if phone not in listed]
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        statement = dialect.insert(Dnc).on_conflict_do_nothing(index_elements=[Dnc.phone])
        row = {"source": DncSource.IMPORT.value, "reason": reason, "added_at": now}
        for start in range(0, len(fresh), INSERT_CHUNK):
            chunk = fresh[start : start + INSERT_CHUNK]
            await session.execute(statement, [{"phone": phone, **row} for phone in chunk])
    return DncUploadReport(
        rows=checked.rows,
        added=len(fresh),
        already_listed=len(listed),
        duplicates=checked.duplicates,
        rejected_count=checked.rejected_count,
        rejected=checked.rejected,
    )


async def csv_chunks(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[bytes]:
    """The list as UTF-8 CSV (header first), by number, one chunk per page of CSV_PAGE: each
    page its own short read, so a long download holds no transaction open."""
    yield _csv_rows([CSV_COLUMNS])
    after = ""
    while True:
        async with sessions() as session:
            page = (
                await session.execute(
                    select(Dnc.phone, Dnc.source, Dnc.reason, Dnc.added_at)
                    .where(Dnc.phone > after)
                    .order_by(Dnc.phone)
                    .limit(CSV_PAGE)
                )
            ).all()
        if not page:
            return
        yield _csv_rows(
            (phone, source, reason or "", added.strftime("%Y-%m-%dT%H:%M:%SZ"))
            for phone, source, reason, added in page
        )
        after = page[-1][0]


def _csv_rows(rows: Any) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()
