"""Campaign results as CSV or XLSX, streamed (docs/design.md §8).

Rows come from the database in chunks and leave as bytes chunk by chunk, so a million contacts
never sit in memory; each chunk is reshaped column by column rather than row by row. Times are
ISO 8601 in UTC (`2024-05-01T07:30:00Z`): one campaign's contacts span time zones, and UTC is
the one reading nobody can misinterpret. Cells that a spreadsheet would run as a formula get a
leading apostrophe.

XLSX's limits (`campaigns.workbook`) never cut data: an export wider than a sheet is refused
before any byte is made, one longer than a sheet continues on further sheets.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.json as pa_json  # type: ignore[import-untyped]
from sqlalchemy import Select, String, and_, func, select, true, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from campaigns.errors import NO_CAMPAIGN, Invalid, NotFound
from campaigns.tables import Attempt, Campaign, Contact, Place
from campaigns.waiting import WaitingReasons
from campaigns.workbook import XLSX_MAX_COLUMNS, XLSX_MAX_ROWS, write_workbook
from dialer.telecom.causes import cause_text

__all__ = [
    "ATTEMPT_COLUMNS",
    "CONTACT_COLUMNS",
    "XLSX_MAX_COLUMNS",
    "XLSX_MAX_ROWS",
    "escape_cells",
    "export_attempts",
    "export_contacts",
]

Format = Literal["csv", "xlsx"]
Column = Sequence[Any]
Shape = Callable[[list[Column]], list[Column]]
"""The export's columns from the query's (the last query column, vars, is handled apart)."""

# fmt: off
CONTACT_COLUMNS: Final = (
    "phone", "status", "outcome", "attempts", "last_cause", "last_cause_text",
    "listened_seconds", "dtmf", "transfer_number", "transfer_seconds", "first_call_at",
    "last_call_at", "call_ids", "timezone", "region", "operator", "waiting_reason",
    "next_attempt_at",
)
ATTEMPT_COLUMNS: Final = (
    "attempt_id", "phone", "state", "category", "cause", "cause_text", "duration", "dtmf",
    "transfer_number", "transfer_cause", "transfer_seconds", "call_id", "claimed_at", "sent_at",
    "originated_at", "finished_at", "error",
)
# fmt: on
CHUNK: Final = 20_000
DELIMITERS: Final = (";", ",")
_FORMULA_START: Final = frozenset("=+-@\t\r")
_ISO: Final = "%Y-%m-%dT%H:%M:%SZ"


def escape_cells(values: Iterable[Any]) -> list[Any]:
    """Defuse formula injection: text starting like a formula gets an apostrophe in front."""
    return [
        "'" + value if type(value) is str and value[:1] in _FORMULA_START else value
        for value in values
    ]


class _CauseTexts(dict[int, str]):
    def __init__(self, lang: str) -> None:
        super().__init__()
        self._lang = lang

    def __missing__(self, cause: int) -> str:
        self[cause] = text = cause_text(cause, lang=self._lang)
        return text

    def column(self, causes: Column) -> list[str | None]:
        return [None if cause is None else self[cause] for cause in causes]


async def export_contacts(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    *,
    fmt: Format,
    delimiter: str = ";",
    lang: str = "en",
    sheet_rows: int = XLSX_MAX_ROWS,
    now: datetime | None = None,
    balance_low: bool = False,
) -> AsyncIterator[bytes]:
    """One row per contact: CONTACT_COLUMNS, then the template variables. The waiting reasons
    are those at `now` (the current time when None), with the balance gate as `balance_low`
    says (campaigns.balance)."""
    async with sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    reasons = WaitingReasons(campaign, now or datetime.now(UTC), balance_low=balance_low)
    calls = (
        select(Attempt.contact_id, func.aggregate_strings(Attempt.call_id, " ").label("ids"))
        .where(Attempt.campaign_id == campaign_id, Attempt.call_id.is_not(None))
        .group_by(Attempt.contact_id)
        .subquery()
    )

    def query(scope: _Scope) -> Select[*tuple[Any, ...]]:
        return (
            select(
                Contact.phone,
                Contact.status,
                Contact.outcome,
                Contact.attempts,
                Contact.last_cause,
                Contact.listened_seconds,
                Contact.dtmf,
                Contact.transfer_number,
                Contact.transfer_seconds,
                _iso(Contact.first_call_at, scope.dialect),
                _iso(Contact.last_call_at, scope.dialect),
                calls.c.ids,
                Contact.waiting_reason,
                _iso(Contact.next_attempt_at, scope.dialect),
                Contact.timezone,
                func.nullif(Place.region, ""),
                func.nullif(Place.operator, ""),
                Contact.vars,
            )
            .outerjoin(calls, calls.c.contact_id == Contact.id)
            .outerjoin(Place, Place.id == Contact.place_id)
            .where(scope.contacts)
            .order_by(Contact.id)
        )

    texts = _CauseTexts(lang)

    def shape(c: list[Column]) -> list[Column]:
        return [
            *c[:5],
            texts.column(c[4]),
            *c[5:12],
            *c[14:17],
            *reasons.columns(c[1], c[13], c[12], c[14]),
        ]

    out = _export(sessions, campaign_id, fmt, delimiter, sheet_rows, CONTACT_COLUMNS, query, shape)
    async for data in out:
        yield data


async def export_attempts(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    *,
    fmt: Format,
    delimiter: str = ";",
    lang: str = "en",
    sheet_rows: int = XLSX_MAX_ROWS,
) -> AsyncIterator[bytes]:
    """One row per attempt: ATTEMPT_COLUMNS, then the contact's template variables."""

    def query(scope: _Scope) -> Select[*tuple[Any, ...]]:
        dialect = scope.dialect
        return (
            select(
                Attempt.id,
                Attempt.phone,
                Attempt.state,
                Attempt.category,
                Attempt.cause,
                Attempt.duration,
                Attempt.dtmf,
                Attempt.transfer_number,
                Attempt.transfer_cause,
                Attempt.transfer_seconds,
                Attempt.call_id,
                _iso(Attempt.claimed_at, dialect),
                _iso(Attempt.sent_at, dialect),
                _iso(Attempt.originated_at, dialect),
                _iso(Attempt.finished_at, dialect),
                Attempt.error,
                Contact.vars,
            )
            .join(Contact, Contact.id == Attempt.contact_id)
            .where(Attempt.campaign_id == campaign_id)
            .order_by(Attempt.id)
        )

    texts = _CauseTexts(lang)

    def shape(c: list[Column]) -> list[Column]:
        return [*c[:5], texts.column(c[4]), *c[5:15], escape_cells(c[15])]

    out = _export(sessions, campaign_id, fmt, delimiter, sheet_rows, ATTEMPT_COLUMNS, query, shape)
    async for data in out:
        yield data


def _iso(column: InstrumentedAttribute[Any], dialect: Dialect) -> ColumnElement[str]:
    """ISO 8601 UTC text made by the database: far cheaper than a datetime per cell in Python."""
    if dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    if dialect.name == "sqlite":  # SQLAlchemy stores UTC as "YYYY-MM-DD HH:MM:SS.ffffff"
        return func.strftime(_ISO, type_coerce(column, String))
    raise NotImplementedError(f"exports support SQLite and PostgreSQL, not {dialect.name}")


async def _export(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    fmt: Format,
    delimiter: str,
    sheet_rows: int,
    columns: Sequence[str],
    query: Callable[[_Scope], Select[*tuple[Any, ...]]],
    shape: Shape,
) -> AsyncIterator[bytes]:
    if fmt not in ("csv", "xlsx"):
        raise Invalid("format", f"must be csv or xlsx, not {fmt!r}")
    if delimiter not in DELIMITERS:
        raise Invalid("delimiter", f"must be one of {' '.join(DELIMITERS)}, not {delimiter!r}")
    async with sessions() as session:
        scope = await _scope(session, campaign_id)
        names = await _variable_names(session, scope)
        connection = await session.connection()

        async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
            async for batch in _rows(connection, query(scope)):
                found: list[Column] = list(zip(*batch, strict=True))
                variables = [escape_cells(v) for v in _variables(found.pop(), names)]
                yield list(zip(*shape(found), *variables, strict=True))

        header = escape_cells([*columns, *names])  # variable names come from the user's file
        if fmt == "xlsx" and len(header) > XLSX_MAX_COLUMNS:
            raise Invalid(
                "format",
                f"XLSX holds at most {XLSX_MAX_COLUMNS} columns, this export has {len(header)}"
                f" ({len(columns)} fixed and {len(names)} variables): export as CSV (format=csv)",
            )
        if fmt == "csv":
            out = _csv(header, chunks(), delimiter)
        else:
            out = write_workbook(header, chunks(), sheet_rows, created=scope.created_at)
        async for data in out:
            yield data


@dataclass(frozen=True, slots=True)
class _Scope:
    dialect: Dialect
    contacts: ColumnElement[bool]
    """The campaign's contacts, put so that the database reads them in id order unsorted."""
    var_columns: list[str]
    """The variables its imports recorded, in file order."""
    created_at: datetime
    """The campaign's: an XLSX records it, so that two exports of the same rows are the same
    bytes."""


async def _scope(session: AsyncSession, campaign_id: int) -> _Scope:
    """On SQLite, a scan of the campaign's id range beats its index plus sorting a million rows
    (`campaign_id + 0` keeps the planner off the index); PostgreSQL plans well either way."""
    found = (
        await session.execute(
            select(Campaign.var_columns, Campaign.created_at).where(Campaign.id == campaign_id)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    recorded, created_at = found
    span = select(func.min(Contact.id), func.max(Contact.id))
    low, high = (await session.execute(span.where(Contact.campaign_id == campaign_id))).one()
    dialect = (await session.connection()).dialect
    own = Contact.campaign_id + 0 if dialect.name == "sqlite" else Contact.campaign_id
    contacts = and_(Contact.id.between(low, high), own == campaign_id)
    return _Scope(dialect, contacts, recorded, created_at)


def _variables(column: Column, names: Sequence[str]) -> list[list[Any]]:
    """Each variable's values in a chunk. SQLite hands over JSON text, which pyarrow parses
    several times faster than json.loads when every value is text; asyncpg decoded objects."""
    if not names:
        return []
    if column and isinstance(column[0], str):
        text = "\n".join(column).encode()
        schema = pa.schema([(name, pa.string()) for name in names])
        try:
            table = pa_json.read_json(
                io.BytesIO(text),
                read_options=pa_json.ReadOptions(use_threads=False, block_size=len(text) + 1),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=schema, unexpected_field_behavior="ignore"
                ),
            )
        except pa.ArrowInvalid:  # a number or an object among the values
            objects = [json.loads(value) for value in column]
        else:
            if table.num_rows == len(column):
                return [table.column(name).to_pylist() for name in names]
            objects = [json.loads(value) for value in column]
    else:
        objects = [value or {} for value in column]
    return [[_scalar(found.get(name)) for found in objects] for name in names]


def _scalar(value: Any) -> Any:
    """Objects and lists (only ever put there by hand) as their JSON text."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


async def _rows(
    connection: AsyncConnection, query: Select[*tuple[Any, ...]]
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """Rows in chunks straight from the driver's cursor: SQLAlchemy's per-row result handling
    would take several times longer than the database for a million rows."""
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    parameters = compiled.construct_params()
    arguments = [parameters[name] for name in compiled.positiontup or ()]
    driver: Any = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "postgresql":
        cursor = await driver.cursor(str(compiled), *arguments)
        while batch := await cursor.fetch(CHUNK):
            yield batch
        return
    async with driver.execute(str(compiled), arguments) as cursor:
        while batch := await cursor.fetchmany(CHUNK):
            yield batch


async def _variable_names(session: AsyncSession, scope: _Scope) -> list[str]:
    """Variables of all contacts: those imports recorded, in file order; then the first
    contact's others in its order; then any others sorted (single calls, inline rows)."""
    first = await session.scalar(
        select(Contact.vars).where(scope.contacts).order_by(Contact.id).limit(1)
    )
    if first is None:
        return []
    if scope.dialect.name == "postgresql":
        keys = select(func.jsonb_object_keys(Contact.vars))
    else:
        each = func.json_each(Contact.vars).table_valued("key")
        keys = select(each.c.key).select_from(Contact).join(each, true())
    every = set((await session.scalars(keys.distinct().where(scope.contacts))).all())
    ordered = list(dict.fromkeys([*scope.var_columns, *first]))
    return [*ordered, *sorted(every - set(ordered))]


async def _csv(
    header: list[Any], chunks: AsyncIterator[list[tuple[Any, ...]]], delimiter: str
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    async for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        yield buffer.getvalue().encode("utf-8")


def rejected_csv(rejected: Iterable[Mapping[str, Any]], *, delimiter: str = ";") -> bytes:
    """An import report's rejected rows as CSV (line, column, value, reason), UTF-8 with BOM
    for Excel, formulas defused as in the results files."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["line", "column", "value", "reason"])
    for row in rejected:
        writer.writerow(escape_cells([row["line"], row["column"], row["value"], row["reason"]]))
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
