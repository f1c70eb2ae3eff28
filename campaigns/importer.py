"""Contacts import: a file or a JSON list in, contacts stored and a report out (docs/design.md §8).

Everything that can refuse the whole import (unreadable file, no phone column, broken
template, limits) is checked before the one write transaction, so a refused import changes
nothing. The rows go in with the driver's executemany, not SQLAlchemy's per-row machinery.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from itertools import repeat
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import bindparam, func, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement

from campaigns import dnc
from campaigns.db import write_transaction
from campaigns.errors import NO_CAMPAIGN, NotFound
from campaigns.filereader import ImportRefused, Limits, contacts_frame, read_file
from campaigns.places import place_ids
from campaigns.rowchecks import Checked, Rejection, Zoning, check_rows
from campaigns.states import ContactStatus
from campaigns.tables import Campaign, Contact
from campaigns.windows import UNKNOWN_ZONE

__all__ = [
    "ImportRefused",
    "ImportReport",
    "Limits",
    "Rejection",
    "Zoning",
    "check_rows",
    "contacts_frame",
    "import_contacts",
    "import_file",
]

INSERT_CHUNK: Final = 50_000
SQLITE_IMPORT_CACHE_KIB: Final = 256 * 1024
_FRAME_COLUMNS: Final = ("phone", "vars", "timezone", "place_id", "text", "voice")
UNKNOWN_LABEL: Final = "unknown"
"""The report's name for contacts of unknown zone (called under the strict policy)."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    accepted: int
    duplicates: int
    dnc: int
    rejected_count: int
    rejected: tuple[Rejection, ...] = field(default=())
    zones: dict[str, int] = field(default_factory=dict)
    """Accepted rows per callee time zone ("unknown": none known); a number the campaign
    already had is counted too."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of docs/design.md §9."""
        return asdict(self) | {"rejected": [asdict(r) for r in self.rejected]}


async def import_file(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    source: bytes | Path,
    *,
    filename: str | None = None,
    phone_column: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    limits: Limits | None = None,
    zoning: Zoning | None = None,
) -> ImportReport:
    """Import a CSV/XLSX upload into a campaign; raises ImportRefused, having stored nothing.
    `encoding` (a CSV's) overrides detection."""
    message, zone = await _campaign(sessions, campaign_id)

    def read_and_check() -> Checked:
        sheet = read_file(
            source, filename=filename, delimiter=delimiter, encoding=encoding, limits=limits
        )
        return check_rows(
            sheet.frame,
            message=message,
            default_timezone=zone,
            phone_column=phone_column,
            zoning=zoning,
        )

    return await _store(sessions, campaign_id, await asyncio.to_thread(read_and_check))


async def import_contacts(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    contacts: Sequence[Mapping[str, Any]],
    *,
    limits: Limits | None = None,
    zoning: Zoning | None = None,
) -> ImportReport:
    """Import a JSON contacts list ({"phone", "vars", ...}) through the same checks as a file."""
    limits = limits or Limits()
    if len(contacts) > limits.max_rows:
        raise ImportRefused("too_many_rows", f"more than {limits.max_rows} contacts")
    message, zone = await _campaign(sessions, campaign_id)

    def frame_and_check() -> Checked:
        frame = contacts_frame(contacts)
        return check_rows(
            frame, message=message, default_timezone=zone, phone_column="phone", zoning=zoning
        )

    return await _store(sessions, campaign_id, await asyncio.to_thread(frame_and_check))


async def _campaign(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int
) -> tuple[str, str]:
    async with sessions() as session:
        found = (
            await session.execute(
                select(Campaign.message, Campaign.timezone).where(Campaign.id == campaign_id)
            )
        ).one_or_none()
    if found is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    return found.message, found.timezone


async def _store(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, checked: Checked
) -> ImportReport:
    """One transaction: keep do-not-call numbers out, insert the rest, count the clashes.

    The campaign row is locked (on PostgreSQL; SQLite's write lock covers it) so that two
    imports into one campaign take turns and each counts only its own rows. Work on the rows
    runs in threads: a million of them would hold the event loop for seconds."""
    contacts = checked.contacts
    phones = await asyncio.to_thread(contacts["phone"].tolist)
    async with write_transaction(sessions) as session:
        known = await session.scalar(
            select(Campaign.var_columns).where(Campaign.id == campaign_id).with_for_update()
        )
        added = [name for name in checked.variables if name not in (known or [])]
        if added:
            await session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(var_columns=[*(known or []), *added])
            )
        blocked = await dnc.bulk_filter(session, phones)
        allowed = await asyncio.to_thread(_without, contacts, blocked)
        connection = await session.connection()
        before = await _count(connection, campaign_id)
        places = await place_ids(connection, allowed["place"].to_numpy(), checked.places)
        async with _sqlite_cache(connection):
            await _insert(connection, campaign_id, allowed.assign(place_id=places))
            accepted = await _count(connection, campaign_id) - before
    return ImportReport(
        rows=checked.rows,
        accepted=accepted,
        duplicates=checked.duplicates + len(allowed) - accepted,
        dnc=len(contacts) - len(allowed),
        rejected_count=checked.rejected_count,
        rejected=checked.rejected,
        zones=_zone_counts(allowed["timezone"]),
    )


def _zone_counts(zones: pd.Series) -> dict[str, int]:
    counts = zones.replace(UNKNOWN_ZONE, UNKNOWN_LABEL).value_counts()
    return {str(zone): int(count) for zone, count in sorted(counts.items())}


def _without(contacts: pd.DataFrame, blocked: set[str]) -> pd.DataFrame:
    return contacts[~contacts["phone"].isin(blocked)] if blocked else contacts


async def _count(connection: AsyncConnection, campaign_id: int) -> int:
    query = select(func.count()).select_from(Contact).where(Contact.campaign_id == campaign_id)
    return int((await connection.execute(query)).scalar_one())


@cache
def _insert_sql(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """Driver SQL for executemany: SQLAlchemy's per-row parameter processing would dominate."""
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    variable = ("campaign_id", "line", *_FRAME_COLUMNS)
    constant: dict[str, ColumnElement[Any]] = {
        "status": literal_column(f"'{ContactStatus.PENDING.value}'"),
        "history": literal_column("''"),
        "dtmf": literal_column("''"),
        **{
            name: literal_column("0")
            for name in ("attempts", "network_attempts", "listened_seconds", "transfer_seconds")
        },
    }
    statement = (
        insert(Contact)
        .values({name: bindparam(name) for name in variable} | constant)
        .on_conflict_do_nothing(index_elements=["campaign_id", "phone"])
    )
    compiled = statement.compile(dialect=dialect, for_executemany=True)
    return str(compiled), tuple(compiled.positiontup or ())


async def _insert(connection: AsyncConnection, campaign_id: int, contacts: pd.DataFrame) -> None:
    sql, order = _insert_sql(connection.dialect)
    for start in range(0, len(contacts), INSERT_CHUNK):
        chunk = contacts.iloc[start : start + INSERT_CHUNK]
        rows = await asyncio.to_thread(_rows, campaign_id, chunk, order)
        await connection.exec_driver_sql(sql, rows)


def _rows(campaign_id: int, chunk: pd.DataFrame, order: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The driver's parameter tuples, in the compiled statement's order."""
    columns = {
        "campaign_id": repeat(campaign_id),
        "line": chunk.index.tolist(),
        **{name: _values(chunk[name]) for name in _FRAME_COLUMNS},
    }
    return list(zip(*(columns[name] for name in order), strict=False))


@asynccontextmanager
async def _sqlite_cache(connection: AsyncConnection) -> AsyncIterator[None]:
    """A page cache big enough for a million-row import's dirty pages and the indexes it
    updates at random places; SQLite's default 2 MiB spills and misses on nearly every insert
    (three times slower). Back to the previous size afterwards."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = (await connection.exec_driver_sql("PRAGMA cache_size")).scalar_one()
    await connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        await connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def _values(column: pd.Series) -> list[Any]:
    """Python values for the driver, missing ones as None (pandas would give NaN), straight
    from Arrow arrays: a third faster than through pandas objects."""
    values: list[Any] = pa.array(column).to_pylist()
    return values
