"""Keyset pagination with opaque cursors: a page ends at a key, the next starts after it.

Unlike offsets, a key stays put while rows are inserted or updated, so paging through a
campaign that is being dialed neither skips nor repeats contacts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from campaigns.errors import Invalid

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100

T = TypeVar("T")
K = TypeVar("K", int, str)


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
    raw = json.dumps({"after": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, key_type: type[K]) -> K | None:
    """The key a cursor from `encode_cursor` carries; Invalid("cursor") for anything else."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)["after"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise Invalid("cursor", f"not a cursor of this list: {cursor!r}") from None
    if isinstance(key, bool) or not isinstance(key, key_type):
        raise Invalid("cursor", f"not a cursor of this list: {cursor!r}")
    return key


def make_page(rows: Sequence[T], limit: int, key: Callable[[T], int | str]) -> Page[T]:
    """`rows` were fetched with `limit + 1`: the extra row only says another page exists."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(key(items[-1])) if more and items else None)
