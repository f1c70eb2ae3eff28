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

from dialer.telecom.event_texts import GRAMMAR, JSON_TYPES
from dialer.telecom.event_texts import PARSE_ERRORS as _ERRORS

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
        raise EventParseError(_ERRORS["too_deep"]) from None
    events = []
    for index, record in enumerate(records):
        try:
            events.append(_event(record))
        except EventParseError as exc:
            if len(records) == 1:
                raise
            problem = _ERRORS["in_event"].format(
                index=index, count=len(records), format=fmt, error=exc
            )
            raise EventParseError(problem) from None
    return ParsedBody(fmt, tuple(events))


def _body_records(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> tuple[BodyFormat, list[Record]]:
    try:
        text = body.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        problem = _ERRORS["not_utf8"].format(detail=exc.reason, byte=exc.start)
        raise EventParseError(problem) from None
    if text:
        is_form = (content_type or "").partition(";")[0].strip().lower() == _FORM_TYPE
        return _text_records(text, 0, "form" if is_form else "kv")
    if not query:
        raise EventParseError(_ERRORS["empty"])
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
            raise EventParseError(_ERRORS["not_json"].format(detail=exc)) from None
        return braced
    if isinstance(value, dict):
        fmt, records = _object_records(value, depth)
        return fmt or "json", records
    if not isinstance(value, list):
        raise EventParseError(_ERRORS["json_body"].format(json_type=_json_type(value)))
    if not value:
        raise EventParseError(_ERRORS["empty_list"])
    records = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            problem = _ERRORS["list_item"].format(index=index, json_type=_json_type(item))
            raise EventParseError(problem)
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
        raise EventParseError(_ERRORS["data_depth"].format(limit=_MAX_DEPTH))
    data = obj[names["data"]]
    outer = _record({key: value for key, value in obj.items() if key != names["data"]})
    fmt: BodyFormat
    if isinstance(data, dict):
        fmt, inner = "data_object", _object_records(data, depth + 1)[1]
    elif isinstance(data, str) and data.strip():
        fmt, inner = "data_string", _text_records(data.strip(), depth + 1, "kv")[1]
    else:
        problem = _ERRORS["data_value"].format(json_type=_json_type(data), value=_show(str(data)))
        raise EventParseError(problem)
    return fmt, [{**outer, **record} for record in inner]


def _kv_record(text: str) -> Record:
    """`k=v&k=v`, %-escaped or not; a name repeated with another value is an error."""
    record: Record = {}
    for segment in text.split("&"):
        if not segment.strip():
            continue
        raw_key, separator, raw_value = segment.partition("=")
        if not separator or not raw_key.strip():
            raise EventParseError(_ERRORS["not_pair"].format(value=_show(segment)))
        try:
            key = unquote_plus(raw_key, errors="strict").strip()
            value = unquote_plus(raw_value, errors="strict").strip()
        except UnicodeDecodeError:
            raise EventParseError(_ERRORS["bad_escapes"].format(value=_show(segment))) from None
        if record.setdefault(key, value) != value:
            twice = {"name": _show(key), "first": _show(record[key]), "second": _show(value)}
            raise EventParseError(_ERRORS["twice"].format(**twice))
    if not record:
        raise EventParseError(_ERRORS["no_fields"].format(value=_show(text)))
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
            raise EventParseError(_ERRORS["bad_chars"].format(name=_show(key)))
        name = key.strip().lower()
        if name in _KNOWN_FIELDS and known.setdefault(name, value) != value:
            raise EventParseError(_ERRORS["twice_differently"].format(name=_show(key)))
    event_text = _present(known.get("event"))
    if event_text is None:
        raise EventParseError(_ERRORS["no_event"].format(fields=", ".join(sorted(record))))
    mess_id = _identifier(known.get("id"), "id")
    call_id = _identifier(known.get("callid"), "CallID")
    if mess_id is None and call_id is None:
        raise EventParseError(_ERRORS["no_id"])
    kind, number, cause, duration = _parse_event_text(event_text)
    leg = Leg.TRANSFER if (_present(known.get("type")) or "").lower() == "transfer" else Leg.CALLEE
    if kind is EventKind.NOTIFY and leg is Leg.TRANSFER:
        raise EventParseError(_ERRORS["not_transfer"].format(value=_show(event_text)))
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
        raise EventParseError(_ERRORS["no_kind"].format(value=_show(text)))
    if kind is None:
        raise EventParseError(_ERRORS["letter"].format(value=_show(text), letter=_show(letter)))
    parts = rest.split("_")
    if len(parts) != (3 if kind is EventKind.HANGUP else 1):
        raise EventParseError(_ERRORS["grammar"].format(value=_show(text), grammar=GRAMMAR[kind]))
    if not _NUMBER.fullmatch(parts[0]):
        number = {"value": _show(text), "number": _show(parts[0]), "digits": MAX_NUMBER_DIGITS}
        raise EventParseError(_ERRORS["number"].format(**number))
    if kind is not EventKind.HANGUP:
        return kind, parts[0], None, None
    cause = _bounded(parts[1], "cause", MAX_CAUSE, text)
    return kind, parts[0], cause, _bounded(parts[2], "duration", MAX_DURATION, text)


def _bounded(text: str, name: str, limit: int, event_text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        problem = _ERRORS["not_whole"].format(value=_show(event_text), part=name, text=_show(text))
        raise EventParseError(problem)
    if len(text) > 9 or int(text) > limit:
        bounds = {"value": _show(event_text), "part": name, "text": text, "limit": limit}
        raise EventParseError(_ERRORS["out_of_range"].format(**bounds))
    return int(text)


def _digit(value: str | None) -> int | None:
    text = _present(value)
    if text is None:
        return None
    if len(text) != 1 or text not in "123456789":
        raise EventParseError(_ERRORS["dtmf"].format(value=_show(text)))
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
        raise EventParseError(_ERRORS["date_format"].format(value=_show(text)))
    year, month, day, hour, minute, second = (int(group) for group in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=MOSCOW)
    except ValueError as exc:
        raise EventParseError(_ERRORS["bad_date"].format(value=_show(text), detail=exc)) from None


def _identifier(value: str | None, name: str) -> str | None:
    text = _present(value)
    if text is not None and not _IDENTIFIER.fullmatch(text):
        raise EventParseError(_ERRORS["identifier"].format(name=repr(name), value=_show(text)))
    return text


def _present(value: str | None) -> str | None:
    """The stripped value, or None for absent, empty and MTT's literal "null"."""
    if value is None:
        return None
    text = value.strip()
    return None if not text or text.lower() == "null" else text


def _json_type(value: object) -> str:
    kinds = {dict: "object", list: "list", str: "string", bool: "boolean"}
    return JSON_TYPES[kinds.get(type(value), "null" if value is None else "number")]


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "…")
