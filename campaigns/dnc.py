"""The do-not-call list (DESIGN §7): checked at import and again right before each dial.

Functions take the caller's session; those that write must run inside `write_transaction`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import Select, any_, bindparam, delete, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from campaigns.contacts import after_prefix, number_prefix
from campaigns.db import ensure_writing
from campaigns.errors import Invalid
from campaigns.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, make_page
from campaigns.states import DncSource
from campaigns.tables import Dnc
from dialer.numbers import InvalidNumber, normalize

__all__ = [
    "BULK_CHUNK",
    "add",
    "bulk_filter",
    "check",
    "list_entries",
    "listed",
    "phone",
    "remove",
]

BULK_CHUNK = 100_000
"""Phones per query of `bulk_filter`, each chunk one parameter (a JSON text or an array)."""


def phone(value: str) -> str:
    """The 11-digit form of a number given to the do-not-call API; Invalid("phone") if none."""
    try:
        return normalize(value)
    except InvalidNumber as error:
        raise Invalid("phone", error.reason) from None


def add(
    session: Session,
    number: str,
    *,
    source: DncSource,
    now: datetime,
    reason: str | None = None,
) -> bool:
    """Put a number on the list; True if it was not there (an existing entry is kept as is).
    Synchronous, for the webhook batch that adds opt-outs (`Writes`); async callers use
    `session.run_sync(add, ...)`."""
    ensure_writing(session)
    values = {"phone": phone(number), "source": source.value, "reason": reason, "added_at": now}
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(Dnc)
        .values(values)
        .on_conflict_do_nothing(index_elements=[Dnc.phone])
        .returning(Dnc.phone)
    )
    return session.execute(statement).scalar_one_or_none() is not None


async def remove(session: AsyncSession, number: str) -> bool:
    """Take a number off the list; True if it was there."""
    ensure_writing(session)
    statement = delete(Dnc).where(Dnc.phone == phone(number)).returning(Dnc.phone)
    return (await session.execute(statement)).scalar_one_or_none() is not None


_LISTED = select(Dnc.__table__.c.phone).where(Dnc.__table__.c.phone == bindparam("phone"))
"""Built once, on the table: the dial job asks before every call."""


def listed(session: Session, number: str) -> bool:
    """Whether a normalised number is on the list (the dial job's check, in its transaction)."""
    return session.execute(_LISTED, {"phone": number}).first() is not None


async def check(session: AsyncSession, number: str) -> Dnc | None:
    """The number's entry, or None when it may be called."""
    return await session.get(Dnc, phone(number))


async def list_entries(
    session: AsyncSession,
    *,
    prefix: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Dnc]:
    """Entries by phone number; with `prefix`, those whose number starts with it
    (`contacts.number_prefix`), a range of the primary key."""
    query = select(Dnc).order_by(Dnc.phone).limit(check_limit(limit) + 1)
    if prefix is not None:
        start = number_prefix(prefix)
        query = query.where(Dnc.phone >= start)
        beyond = after_prefix(start)
        if beyond is not None:
            query = query.where(Dnc.phone < beyond)
    after = decode_cursor(cursor, str)
    if after is not None:
        query = query.where(Dnc.phone > after)
    rows = (await session.execute(query)).scalars().all()
    return make_page(rows, limit, lambda entry: entry.phone)


async def bulk_filter(session: AsyncSession, phones: Iterable[str]) -> set[str]:
    """Those of `phones` (11-digit numbers) that are on the list.

    A whole chunk travels as one parameter: an IN list of one parameter per phone costs
    several times as much for a million phones (measured on both databases).
    """
    wanted = list(set(phones))
    if session.get_bind().dialect.name == "sqlite":
        listed: Select[tuple[str]] = select(literal_column("value")).select_from(
            func.json_each(bindparam("chunk"))
        )
        query = select(Dnc.phone).where(Dnc.phone.in_(listed))
        encode: Callable[[list[str]], object] = json.dumps
    else:
        array = bindparam("chunk", type_=postgresql.ARRAY(Dnc.phone.type))
        query = select(Dnc.phone).where(Dnc.phone == any_(array))
        encode = list
    blocked: set[str] = set()
    for start in range(0, len(wanted), BULK_CHUNK):
        found = await session.execute(query, {"chunk": encode(wanted[start : start + BULK_CHUNK])})
        blocked.update(found.scalars())
    return blocked
