"""Parser of MTT's webhook bodies into events.

MTT documents two event formats (a plain-call ``k=v`` string and an IVR JSON object) and prints
them in several wrappings, some of which are not valid JSON; one collector URL receives them
all. The parser is tolerant about the envelope and strict about the event itself, so a body is
either understood completely or rejected with a message naming the field and value.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
MAX_CAUSE = 127  # Q.850 cause values are seven bits
MAX_DURATION = 86_400  # a call longer than a day is a corrupt event, not a long call
MAX_NUMBER_DIGITS = 15  # E.164

BodyFormat = Literal[
    "json",
    "json_list",
    "data_object",
    "data_string",
    "braced_string",
    "data_braced",
    "kv",
    "form",
    "query",
]

Record = dict[str, str]

_FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_DEPTH = 3  # how many `data` wrappers may nest
_MTT_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})")
_NUMBER = re.compile(rf"[0-9]{{1,{MAX_NUMBER_DIGITS}}}")
_IDENTIFIER = re.compile(r"[!-~]{1,128}")
_FORBIDDEN_CHARS = re.compile("[\x00\ud800-\udfff]")
# `{"k=v&..."}`, `{k=v&...}` and `{"data": {"k=v&..."}}`, as the reference prints them, one or
# more separated by commas.
_BRACED_ITEM = re.compile(
    r'\s*\{\s*(?:"data"\s*:\s*\{\s*(?P<wrapped>"[^"{}]*"|[^"{}]*)\s*\}'
    r'|(?P<bare>"[^"{}]*"|[^"{}]*))\s*\}\s*(?:,|\Z)'
)


class EventParseError(ValueError):
    """A webhook body that is not a well-formed set of MTT events."""


class EventKind(StrEnum):
    ORIGINATE = "originate"
    HANGUP = "hangup"
    NOTIFY = "notify"


class Leg(StrEnum):
    CALLEE = "callee"
    TRANSFER = "transfer"


_KINDS = {"o": EventKind.ORIGINATE, "h": EventKind.HANGUP, "n": EventKind.NOTIFY}
_KNOWN_FIELDS = frozenset({"event", "id", "callid", "type", "dtmf", "date_time"})
_GRAMMAR = {
    EventKind.ORIGINATE: "o_<number>",
    EventKind.HANGUP: "h_<number>_<cause>_<duration>",
    EventKind.NOTIFY: "n_<number>",
}


@dataclass(frozen=True)
class MttEvent:
    """One MTT event; `fields` keeps the raw key/values as delivered (JSON scalars as text)."""

    kind: EventKind
    leg: Leg
    mess_id: str | None
    call_id: str | None
    number: str
    cause: int | None
    duration: int | None
    digit: int | None
    occurred_at: datetime | None
    fields: Mapping[str, str] = field(hash=False)

    @property
    def dedup_key(self) -> str:
        """Equal for one event delivered twice in any format.

        `date_time` is left out: its spelling differs between formats, and two events that agree
        on everything else (call, leg, kind, number, cause, duration, digit) are one event.
        """
        parts = (
            "mtt-event-v1",
            (self.call_id or "").lower(),
            self.mess_id or "",
            self.kind.value,
            self.leg.value,
            self.number,
            *(
                "" if value is None else str(value)
                for value in (self.cause, self.duration, self.digit)
            ),
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class ParsedBody:
    format: BodyFormat
    events: tuple[MttEvent, ...]


def parse_body(body: bytes, content_type: str | None, query: Mapping[str, str]) -> ParsedBody:
    """Read one webhook request; query parameters are used only when the body is empty."""
    try:
        fmt, records = _body_records(body, content_type, query)
    except RecursionError:
        raise EventParseError("body is nested too deeply") from None
    events = []
    for index, record in enumerate(records):
        try:
            events.append(_event(record))
        except EventParseError as exc:
            if len(records) == 1:
                raise
            raise EventParseError(f"event {index} of {len(records)} ({fmt}): {exc}") from None
    return ParsedBody(fmt, tuple(events))


def _body_records(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> tuple[BodyFormat, list[Record]]:
    try:
        text = body.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise EventParseError(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    if text:
        is_form = (content_type or "").partition(";")[0].strip().lower() == _FORM_TYPE
        return _text_records(text, 0, "form" if is_form else "kv")
    if not query:
        raise EventParseError("empty body and no query parameters")
    record = {key.strip(): value.strip() for key, value in query.items()}
    return "query", _object_records(record, 0)[1]


def _text_records(text: str, depth: int, kv_format: BodyFormat) -> tuple[BodyFormat, list[Record]]:
    if text.startswith(("{", "[")):
        return _json_or_braced_records(text, depth)
    return kv_format, _object_records(_kv_record(text), depth)[1]


def _json_or_braced_records(text: str, depth: int) -> tuple[BodyFormat, list[Record]]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        braced = _braced_records(text, depth) if text.startswith("{") else None
        if braced is None:
            raise EventParseError(f"body is neither valid JSON ({exc}) nor k=v in braces") from None
        return braced
    if isinstance(value, dict):
        fmt, records = _object_records(value, depth)
        return fmt or "json", records
    if not isinstance(value, list):
        raise EventParseError(f"JSON body is {_json_type(value)}, expected an object or a list")
    if not value:
        raise EventParseError("JSON list is empty: no events")
    records = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise EventParseError(
                f"item {index} of the JSON list is {_json_type(item)}, expected an object"
            )
        records.extend(_object_records(item, depth)[1])
    return "json_list", records


def _braced_records(text: str, depth: int) -> tuple[BodyFormat, list[Record]] | None:
    """The reference's non-JSON examples; None when `text` is not of that shape."""
    records: list[Record] = []
    all_wrapped = True
    position = 0
    while position < len(text):
        match = _BRACED_ITEM.match(text, position)
        if match is None:
            return None
        inner = match["bare"] if match["wrapped"] is None else match["wrapped"]
        all_wrapped = all_wrapped and match["wrapped"] is not None
        inner = inner.strip().removeprefix('"').removesuffix('"')
        records.extend(_object_records(_kv_record(inner), depth)[1])
        position = match.end()
    return ("data_braced" if all_wrapped else "braced_string"), records


def _object_records(
    obj: Mapping[str, object], depth: int
) -> tuple[BodyFormat | None, list[Record]]:
    """Unwrap a `data` field that holds the event; other fields of the wrapper are kept."""
    names = {key.lower(): key for key in obj}
    if "event" in names or "data" not in names:
        return None, [_record(obj)]
    if depth >= _MAX_DEPTH:
        raise EventParseError(f"field 'data' is nested more than {_MAX_DEPTH} times")
    data = obj[names["data"]]
    outer = _record({key: value for key, value in obj.items() if key != names["data"]})
    fmt: BodyFormat
    if isinstance(data, dict):
        fmt, inner = "data_object", _object_records(data, depth + 1)[1]
    elif isinstance(data, str) and data.strip():
        fmt, inner = "data_string", _text_records(data.strip(), depth + 1, "kv")[1]
    else:
        raise EventParseError(
            f"field 'data' is {_json_type(data)} {_show(str(data))}, "
            "expected an object or a non-empty k=v string"
        )
    return fmt, [{**outer, **record} for record in inner]


def _kv_record(text: str) -> Record:
    """`k=v&k=v`, %-escaped or not; a name repeated with another value is an error."""
    record: Record = {}
    for segment in text.split("&"):
        if not segment.strip():
            continue
        raw_key, separator, raw_value = segment.partition("=")
        if not separator or not raw_key.strip():
            raise EventParseError(f"k=v segment {_show(segment)} is not name=value")
        try:
            key = unquote_plus(raw_key, errors="strict").strip()
            value = unquote_plus(raw_value, errors="strict").strip()
        except UnicodeDecodeError:
            raise EventParseError(
                f"k=v segment {_show(segment)} has %-escapes that are not UTF-8"
            ) from None
        if record.setdefault(key, value) != value:
            raise EventParseError(
                f"field {_show(key)} given twice: {_show(record[key])} and {_show(value)}"
            )
    if not record:
        raise EventParseError(f"k=v text {_show(text)} has no fields")
    return record


def _record(obj: Mapping[str, object]) -> Record:
    """JSON values as text: scalars as JSON spells them, nested values as compact JSON."""
    return {
        key: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        for key, value in obj.items()
    }


def event_of(record: Mapping[str, str]) -> MttEvent:
    """One event from its fields, checked as one read from a body is."""
    return _event(dict(record))


def _event(record: Record) -> MttEvent:
    known: dict[str, str] = {}
    for key, value in record.items():
        if _FORBIDDEN_CHARS.search(key) or _FORBIDDEN_CHARS.search(value):
            raise EventParseError(f"field {_show(key)} contains NUL or an unpaired surrogate")
        name = key.strip().lower()
        if name in _KNOWN_FIELDS and known.setdefault(name, value) != value:
            raise EventParseError(f"field {_show(key)} given twice with different values")
    event_text = _present(known.get("event"))
    if event_text is None:
        raise EventParseError(f"missing field 'event' (fields: {', '.join(sorted(record))})")
    mess_id = _identifier(known.get("id"), "id")
    call_id = _identifier(known.get("callid"), "CallID")
    if mess_id is None and call_id is None:
        raise EventParseError("neither 'id' nor 'CallID' is given")
    kind, number, cause, duration = _parse_event_text(event_text)
    leg = Leg.TRANSFER if (_present(known.get("type")) or "").lower() == "transfer" else Leg.CALLEE
    if kind is EventKind.NOTIFY and leg is Leg.TRANSFER:
        raise EventParseError(f"field 'event' value {_show(event_text)} cannot be type=transfer")
    return MttEvent(
        kind=kind,
        leg=leg,
        mess_id=mess_id,
        call_id=call_id,
        number=number,
        cause=cause,
        duration=duration,
        digit=_digit(known.get("dtmf")),
        occurred_at=_occurred_at(known.get("date_time")),
        fields=MappingProxyType(record),
    )


def _parse_event_text(text: str) -> tuple[EventKind, str, int | None, int | None]:
    letter, separator, rest = text.partition("_")
    kind = _KINDS.get(letter)
    if not separator:
        raise EventParseError(
            f"field 'event' value {_show(text)} is not {' or '.join(_GRAMMAR.values())}"
        )
    if kind is None:
        raise EventParseError(
            f"field 'event' value {_show(text)}: unknown event letter {_show(letter)} "
            "(expected o, h or n)"
        )
    parts = rest.split("_")
    if len(parts) != (3 if kind is EventKind.HANGUP else 1):
        raise EventParseError(f"field 'event' value {_show(text)} is not {_GRAMMAR[kind]}")
    if not _NUMBER.fullmatch(parts[0]):
        raise EventParseError(
            f"field 'event' value {_show(text)}: number {_show(parts[0])} "
            f"is not 1..{MAX_NUMBER_DIGITS} digits"
        )
    if kind is not EventKind.HANGUP:
        return kind, parts[0], None, None
    cause = _bounded(parts[1], "cause", MAX_CAUSE, text)
    return kind, parts[0], cause, _bounded(parts[2], "duration", MAX_DURATION, text)


def _bounded(text: str, name: str, limit: int, event_text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise EventParseError(
            f"field 'event' value {_show(event_text)}: {name} {_show(text)} "
            "is not a non-negative whole number"
        )
    if len(text) > 9 or int(text) > limit:
        raise EventParseError(
            f"field 'event' value {_show(event_text)}: {name} {text} is out of range 0..{limit}"
        )
    return int(text)


def _digit(value: str | None) -> int | None:
    text = _present(value)
    if text is None:
        return None
    if len(text) != 1 or text not in "123456789":
        raise EventParseError(f"field 'dtmf' value {_show(text)} is not a digit 1..9 or 'null'")
    return int(text)


def _occurred_at(value: str | None) -> datetime | None:
    """MTT's `YYYY-MM-DD-HH-MM-SS` Moscow time; MTT's other APIs send Unix seconds instead."""
    text = _present(value)
    if text is None:
        return None
    if len(text) == 10 and text.isascii() and text.isdigit():
        return datetime.fromtimestamp(int(text), tz=MOSCOW)
    match = _MTT_TIME.fullmatch(text)
    if match is None:
        raise EventParseError(f"field 'date_time' value {_show(text)} is not YYYY-MM-DD-HH-MM-SS")
    year, month, day, hour, minute, second = (int(group) for group in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=MOSCOW)
    except ValueError as exc:
        raise EventParseError(f"field 'date_time' value {_show(text)}: {exc}") from None


def _identifier(value: str | None, name: str) -> str | None:
    text = _present(value)
    if text is not None and not _IDENTIFIER.fullmatch(text):
        raise EventParseError(
            f"field {name!r} value {_show(text)} is not 1..128 printable ASCII characters"
        )
    return text


def _present(value: str | None) -> str | None:
    """The stripped value, or None for absent, empty and MTT's literal "null"."""
    if value is None:
        return None
    text = value.strip()
    return None if not text or text.lower() == "null" else text


def _json_type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "…")
