"""Keyset pagination with cursors: a page ends at a key, the next starts after it.

Unlike offsets, a key stays put while rows are inserted or updated, so paging through a
campaign that is being dialed neither skips nor repeats contacts. A cursor is its key in
plain text, of a form a regular expression states exactly (`CURSOR_PATTERNS`, which the
HTTP contract publishes): an id, or `n` and an 11-digit number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from campaigns.errors import Invalid

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100

T = TypeVar("T")
K = TypeVar("K", int, str)

ID_CURSOR = "^[1-9][0-9]{0,17}$"
"""A cursor of a list keyed by id (below 10**18, far beyond any id)."""
NUMBER_CURSOR = "^n[0-9]{11}$"
"""A cursor of a list keyed by phone number."""
CURSOR_PATTERNS: dict[type, str] = {int: ID_CURSOR, str: NUMBER_CURSOR}


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    """None on the last page."""


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("limit", f"must be from 1 to {MAX_LIMIT}, got {limit}")
    return limit


def encode_cursor(key: int | str) -> str:
    return str(key) if isinstance(key, int) else f"n{key}"


def decode_cursor(cursor: str | None, key_type: type[K]) -> K | None:
    """The key a cursor from `encode_cursor` carries; Invalid("cursor") for anything else."""
    if cursor is None:
        return None
    if not re.fullmatch(CURSOR_PATTERNS[key_type], cursor):
        raise Invalid("cursor", f"not a cursor of this list: {cursor!r}")
    return key_type(cursor) if key_type is int else key_type(cursor[1:])


def make_page(rows: Sequence[T], limit: int, key: Callable[[T], int | str]) -> Page[T]:
    """`rows` were fetched with `limit + 1`: the extra row only says another page exists."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(key(items[-1])) if more and items else None)
