"""MTT's webhook wire forms: Moscow `date_time` and the bodies of both methods (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dialer.simulator.options import PlainFormat

MOSCOW = ZoneInfo("Europe/Moscow")


def mtt_time(at: datetime) -> str:
    """`2019-03-29-11-37-13` in Moscow time, as every MTT event carries it."""
    return at.astimezone(MOSCOW).strftime("%Y-%m-%d-%H-%M-%S")


def key_values(fields: Mapping[str, str]) -> str:
    """`date_time=...&id=...&CallID=...&event=...`: the values never need escaping."""
    return "&".join(f"{key}={value}" for key, value in fields.items())


@dataclass(frozen=True)
class WireRequest:
    """One POST as it goes out."""

    url: str
    content: bytes
    content_type: str | None


def encode(url: str, fields: Mapping[str, str], *, ivr: bool, plain: PlainFormat) -> WireRequest:
    """IVR events are JSON objects; plain-method events are a `k=v&...` string."""
    if ivr:
        return WireRequest(url, _json(dict(fields)), "application/json")
    text = key_values(fields)
    if plain is PlainFormat.FORM:
        return WireRequest(url, text.encode(), "application/x-www-form-urlencoded")
    if plain is PlainFormat.TEXT:
        return WireRequest(url, text.encode(), "text/plain; charset=utf-8")
    if plain is PlainFormat.DATA:
        return WireRequest(url, _json({"data": text}), "application/json")
    separator = "&" if "?" in url else "?"
    return WireRequest(f"{url}{separator}{text}", b"", None)


def _json(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()
