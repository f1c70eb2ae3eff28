"""Checking an import's rows: every rule vectorised over the frame (docs/design.md §7, §8).

A million rows must not meet a Python loop: numbers are normalised by the core's column
normaliser, templates and voice overrides are validated once per distinct value, zones found
by `campaigns.zoning` (one searchsorted over the numbering plan), and the vars JSON is joined
column-wise by pyarrow.
Each rejected row is reported with its first problem only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from campaigns.filereader import PHONE_NAMES, TEXT_NAMES, TIMEZONE, VOICE_COLUMNS, ImportRefused
from campaigns.templates import NO_COLUMNS, TemplateError, check, parse
from campaigns.zoning import Zoning, places
from dialer.telecom.number_columns import normalize_series
from dialer.telecom.voice import Voice, VoiceError

__all__ = [
    "BAD_TEMPLATE",
    "LISTED_REJECTIONS",
    "NO_COLUMN",
    "NO_MESSAGE",
    "NO_PHONE_COLUMN",
    "RENDERS_EMPTY",
    "UNKNOWN_TIMEZONE",
    "Checked",
    "ColumnRoles",
    "Rejection",
    "Zoning",
    "check_rows",
    "column_roles",
]

LISTED_REJECTIONS: Final = 1000
# Reasons of this module, public so a translation recognises them ({field}: the per-row part).
UNKNOWN_TIMEZONE: Final = "unknown timezone: use an IANA name"
RENDERS_EMPTY: Final = "the message renders empty: {names} empty"
NO_MESSAGE: Final = "no message: the campaign's message and the row's text are both empty"
BAD_TEMPLATE: Final = "message template: {error}"
NO_COLUMN: Final = "no column {name}; the columns are: {columns}"
NO_PHONE_COLUMN: Final = (
    "no phone column: name one of {names} or pass phone_column; the columns are: {columns}"
)
_TEXT: Final = pd.StringDtype("pyarrow")
_DEFAULT_VOICE: Final = Voice()


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class Checked:
    """Rows that passed every check, one per number, ready for the do-not-call list."""

    contacts: pd.DataFrame
    """Index: line; text columns phone, vars (JSON), timezone (UNKNOWN_ZONE if unknown),
    text and voice (JSON; <NA> if the row has none); place, a code into `places` (-1 outside
    the numbering plan)."""
    rows: int
    duplicates: int
    rejected_count: int
    rejected: tuple[Rejection, ...]
    variables: tuple[str, ...] = ()
    """The template variable columns, in the file's order."""
    places: tuple[tuple[str, str], ...] = ()
    """The numbering plan's (region, operator) of each place code."""


@dataclass(frozen=True, slots=True)
class ColumnRoles:
    phone: str
    variables: list[str]
    text: str | None
    voice: dict[str, str]
    """Present voice column → the `Voice` field it overrides."""
    timezone: str | None


def column_roles(columns: Sequence[str], phone_column: str | None) -> ColumnRoles:
    folded = {name.casefold(): name for name in columns}
    if phone_column is not None:
        phone = phone_column if phone_column in columns else folded.get(phone_column.casefold())
        if phone is None:
            raise ImportRefused(
                "no_phone_column",
                NO_COLUMN.format(name=repr(phone_column), columns=", ".join(columns)),
            )
    else:
        phone = next((folded[n] for n in PHONE_NAMES if n in folded), None)
        if phone is None:
            raise ImportRefused(
                "no_phone_column",
                NO_PHONE_COLUMN.format(
                    names=", ".join(PHONE_NAMES), columns=", ".join(columns) or NO_COLUMNS
                ),
            )
    text = next((folded[n] for n in TEXT_NAMES if n in folded), None)
    voice = {folded[n]: f for n, f in VOICE_COLUMNS.items() if n in folded}
    zone = folded.get(TIMEZONE)
    special = {phone, text, zone, *voice, *(folded.get(n) for n in TEXT_NAMES)}
    return ColumnRoles(phone, [c for c in columns if c not in special], text, voice, zone)


def check_rows(
    frame: pd.DataFrame,
    *,
    message: str,
    default_timezone: str,
    phone_column: str | None = None,
    zoning: Zoning | None = None,
) -> Checked:
    """Validate every row of a text frame (index = line) against the campaign's message;
    `zoning`: the numbering plan and unknown-zone policy (default: the package's, strict)."""
    roles = column_roles([str(c) for c in frame.columns], phone_column)
    try:
        check(message, roles.variables)
    except TemplateError as error:
        raise ImportRefused("bad_template", BAD_TEMPLATE.format(error=error)) from None
    phones, phone_reasons = normalize_series(frame[roles.phone])
    problems = _Problems(frame)
    problems.add(phone_reasons.notna().to_numpy(), roles.phone, phone_reasons)
    if roles.timezone:
        zone = frame[roles.timezone].str.strip()
        bad = (zone != "") & ~zone.isin(_zone_names())
        problems.add(bad.to_numpy(), roles.timezone, UNKNOWN_TIMEZONE)
    voices = _voice_overrides(frame, roles, problems)
    texts = frame[roles.text].str.strip() if roles.text else None
    _check_texts(frame, texts, message, roles, problems)

    ok = problems.clean()
    first = ok.copy()
    first[ok] = _first_occurrences(phones[ok])
    duplicates = int(ok.sum() - first.sum())
    kept = frame.loc[first]
    numbers = phones[first].astype(_TEXT)
    where = places(numbers, zoning or Zoning(), default_timezone)
    zones = where.zones
    if roles.timezone:
        given = kept[roles.timezone].str.strip()
        zones = given.mask(given == "", zones).astype(_TEXT)
    own = texts[first] if texts is not None else pd.Series(pd.NA, index=kept.index, dtype=_TEXT)
    contacts = pd.DataFrame(
        {
            "phone": numbers,
            "vars": _json_objects(kept, roles.variables),
            "timezone": zones,
            "place": where.codes,
            "text": own.mask(own == "").astype(_TEXT),
            "voice": voices[first].astype(_TEXT),
        },
        index=kept.index,
    )
    count, listed = problems.report()
    return Checked(
        contacts, len(frame), duplicates, count, listed, tuple(roles.variables), where.names
    )


def _first_occurrences(values: pd.Series) -> np.ndarray:
    """Which values are their first occurrence, without Python objects for a million rows."""
    codes, _ = pd.factorize(values)
    first = np.zeros(len(values), dtype=bool)
    first[np.unique(codes, return_index=True)[1]] = True
    return first


class _Problems:
    """Rejected rows, the first problem of each row winning; only the listed ones are built."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._found = np.zeros(len(frame), dtype=bool)
        self._hits: list[tuple[np.ndarray, str, pd.Series | str]] = []

    def add(self, mask: np.ndarray, column: str, reason: pd.Series | str) -> None:
        new = np.flatnonzero(mask & ~self._found)
        if new.size:
            self._found[new] = True
            self._hits.append((new, column, reason))

    def clean(self) -> np.ndarray:
        return ~self._found

    def report(self) -> tuple[int, tuple[Rejection, ...]]:
        picks = sorted(
            (int(position), hit)
            for hit, (positions, _, _) in enumerate(self._hits)
            for position in positions[:LISTED_REJECTIONS]
        )[:LISTED_REJECTIONS]
        listed = []
        for position, hit in picks:
            _, column, reason = self._hits[hit]
            value = self._frame[column].iat[position] if column in self._frame else ""
            why = reason if isinstance(reason, str) else str(reason.iat[position])
            listed.append(Rejection(int(self._frame.index[position]), column, str(value), why))
        return int(self._found.sum()), tuple(listed)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _voice_overrides(frame: pd.DataFrame, roles: ColumnRoles, problems: _Problems) -> pd.Series:
    """JSON of each row's voice overrides (None without any), validated once per combination."""
    if not roles.voice:
        return pd.Series(None, index=frame.index, dtype=object)
    cells = {column: frame[column].str.strip() for column in roles.voice}
    key = pd.Series("", index=frame.index)
    for values in cells.values():
        key = key + "\x1f" + values
    firsts = np.flatnonzero(~key.duplicated().to_numpy())
    columns = {column: values.iloc[firsts].tolist() for column, values in cells.items()}
    overrides: dict[str, str | None] = {}
    failures: dict[str, tuple[str, str]] = {}
    for position, combo in enumerate(key.iloc[firsts].tolist()):
        given = {
            roles.voice[c]: values[position] for c, values in columns.items() if values[position]
        }
        try:
            voice = _DEFAULT_VOICE.merged(given)
        except VoiceError as error:
            column = next(c for c, name in roles.voice.items() if name == error.field)
            failures[combo] = (column, str(error))
            continue
        chosen = voice.model_dump(mode="json", include=set(given))
        overrides[combo] = json.dumps(chosen, ensure_ascii=False) if given else None
    for column in roles.voice:
        mine = {k: why for k, (c, why) in failures.items() if c == column}
        if mine:
            problems.add(key.isin(mine).to_numpy(), column, key.map(mine))
    voices = key.map(overrides).astype(object)
    return voices.where(voices.notna(), None)


def _check_texts(
    frame: pd.DataFrame,
    texts: pd.Series | None,
    message: str,
    roles: ColumnRoles,
    problems: _Problems,
) -> None:
    """Per-row templates must name existing columns; no row may render to nothing."""
    groups = [(message, np.ones(len(frame), dtype=bool) if texts is None else texts == "")]
    if texts is not None and roles.text:
        errors: dict[str, str] = {}
        for text in texts[texts != ""].unique():
            try:
                check(text, roles.variables)
            except TemplateError as error:
                errors[text] = str(error)
            else:
                if not parse(text).literal.strip():
                    groups.append((text, texts == text))
        if errors:
            problems.add(texts.isin(errors).to_numpy(), roles.text, texts.map(errors))
    for template, rows in groups:
        if parse(template).literal.strip():
            continue
        used = parse(template).names
        names = [name for name in roles.variables if name in used]
        empty = np.asarray(rows, dtype=bool)
        for name in names:
            empty = empty & (frame[name].str.strip() == "").to_numpy()
        if names:
            column = names[0]
            reason = RENDERS_EMPTY.format(names=", ".join(names))
        else:
            column = roles.text or "text"
            reason = NO_MESSAGE
        problems.add(empty, column, reason)


def _json_objects(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One JSON object per row ({column: text}), joined by pyarrow column-wise, not row by row."""
    if not columns:
        return pd.Series("{}", index=frame.index)
    parts: list[Any] = []
    for position, column in enumerate(columns):
        key = json.dumps(column, ensure_ascii=False)
        parts += [_scalar(("," if position else "{") + key + ':"'), _json_text(frame[column])]
        parts.append(_scalar('"'))
    parts.append(_scalar("}"))
    joined = pc.binary_join_element_wise(*parts, _scalar(""))
    return pd.Series(joined, index=frame.index, dtype=_TEXT)


def _scalar(text: str) -> Any:
    return pa.scalar(text, type=pa.large_string())  # pandas keeps its strings as large_string


def _json_text(values: pd.Series) -> Any:
    """The body of a JSON string literal for each cell."""
    text = pc.replace_substring(
        pa.array(values.astype(_TEXT)).cast(pa.large_string()), "\\", "\\\\"
    )
    text = pc.replace_substring(text, '"', '\\"')
    if pc.any(pc.match_substring_regex(text, r"[\x00-\x1f]")).as_py():
        for code in range(0x20):
            escaped = json.dumps(chr(code))[1:-1]
            text = pc.replace_substring(text, chr(code), escaped)
    return text
