"""`normalize` for whole import columns: the rules of `dialer.telecom.numbers` as pyarrow kernels.

Kept apart from `dialer.telecom.numbers` because it needs pandas, numpy and pyarrow, which cost
seconds to import in a process that never reads a file. The regexes and messages are the
ones `dialer.telecom.numbers` defines; a property test holds both paths to identical results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from dialer.telecom.numbers import (
    _ALLOWED_RUN,
    _EMPTY,
    _EXTENSION,
    _FLOAT_CELL,
    _HAS_EXTENSION,
    _IMPOSSIBLE,
    _IMPOSSIBLE_AFTER_7,
    _LEADING_JUNK,
    _LETTERS,
    _MISPLACED_PLUS,
    _NO_DIGITS,
    _NOT_A_NUMBER,
    _NOT_ALLOWED,
    _NOT_NATIONAL,
    _PLUS_EIGHT,
    _PLUS_ZERO,
    _RUSSIAN_AREA_FIRST,
    _SCIENTIFIC,
    _SCIENTIFIC_NOTATION,
    _SEVERAL,
    _SEVERAL_NUMBERS,
    _STARTS_WITH_ZERO,
    _TOO_LONG,
    _TOO_SHORT,
    _TRAILING_JUNK,
    _UNEXPECTED,
    _number_or_reason,
)

__all__ = ["normalize_series"]


_ARROW = pd.StringDtype("pyarrow", na_value=np.nan)
_ARROW_RESULT = pd.StringDtype("pyarrow", na_value=pd.NA)
_PYTHON_RESULT = pd.StringDtype("python", na_value=pd.NA)

_Mask = npt.NDArray[np.bool_]
_Ints = npt.NDArray[np.int32]
_Texts = npt.NDArray[np.object_]
_Rule = tuple[_Mask, "str | Callable[[_Mask], _Texts]"]

_ZERO, _PLUS, _SEVEN, _EIGHT = b"0+78"
# Byte classes, as bits: a row's classes are the OR of its bytes'. Stray: any byte that is not
# an ASCII digit, '+' or ASCII separator, so only rows with one need the stray-character regex.
_DIGIT, _INNER_PLUS, _STRAY, _DOT_OR_COMMA = 1, 2, 4, 8
_BYTE_CLASS = np.full(256, _STRAY, dtype=np.uint8)
_BYTE_CLASS[list(b" \t\n\r\f\v-()")] = 0
_BYTE_CLASS[list(b"0123456789")] = _DIGIT
_BYTE_CLASS[_PLUS] = _INNER_PLUS
_BYTE_CLASS[ord(".")] = _DOT_OR_COMMA
_BYTE_CLASS[ord(",")] = _STRAY | _DOT_OR_COMMA
_RUSSIAN_AREA = np.isin(np.arange(256), [ord(c) for c in _RUSSIAN_AREA_FIRST])
_NO_SUCH_AREA = np.isin(np.arange(256), [ord(c) for c in _IMPOSSIBLE_AFTER_7])


def _running(counts: npt.NDArray[Any]) -> _Ints:
    """Running totals with a leading 0: row offsets (int32, as in pyarrow) from row lengths."""
    return np.concatenate((np.zeros(1, np.int32), np.cumsum(counts, dtype=np.int32)))


class _Utf8:
    """Per-row byte arithmetic on a pyarrow string array (no nulls) through numpy."""

    def __init__(self, strings: Any) -> None:
        _, offsets, data = strings.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32)[
            strings.offset : strings.offset + len(strings) + 1
        ]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        self.data = np.append(raw[bounds[0] : bounds[-1]], np.uint8(0))  # 0: sentinel past the end
        self.starts: _Ints = bounds[:-1] - bounds[0]
        self.lengths: _Ints = np.diff(bounds)
        self.classes = _BYTE_CLASS[self.data]
        self.classes[self.starts] &= ~np.uint8(_INNER_PLUS)  # a leading '+' is no inner one
        self.row_classes: npt.NDArray[np.uint8] = self._per_row(
            np.bitwise_or, self.classes, np.uint8
        )

    def _per_row(self, op: np.ufunc, values: npt.NDArray[Any], dtype: type) -> npt.NDArray[Any]:
        """`op` folded over each row's bytes in one pass; 0 for empty rows."""
        return np.where(self.lengths > 0, op.reduceat(values, self.starts, dtype=dtype), 0)

    def has(self, byte_class: int) -> _Mask:
        return cast("_Mask", (self.row_classes & byte_class) != 0)

    def count(self, flags: _Mask) -> _Ints:
        return self._per_row(np.add, flags, np.int32)


def _mask(flags: Any) -> _Mask:
    return cast("_Mask", flags.to_numpy(zero_copy_only=False))


def _texts(strings: Any) -> _Texts:
    return cast("_Texts", strings.to_numpy(zero_copy_only=False))


def _subset(strings: Any, hit: _Mask) -> Any:
    return pc.filter(strings, pa.array(hit))


def _regex_where(strings: Any, pattern: str, candidates: _Mask) -> _Mask:
    """`match_substring_regex` run on the candidate rows only; False elsewhere."""
    hits = np.zeros(len(strings), dtype=bool)
    if candidates.any():
        hits[candidates] = _mask(pc.match_substring_regex(_subset(strings, candidates), pattern))
    return hits


def _fill_all(template: tuple[str, str], parts: Any) -> _Texts:
    return _texts(pc.binary_join_element_wise(template[0], parts, template[1], ""))


def _decimal(ints: npt.NDArray[np.integer[Any]]) -> Any:
    return pa.array(ints).cast(pa.string())


def _first_reasons(size: int, rules: list[_Rule]) -> _Texts:
    """Per row, the message of the first rule that holds, or None; messages built for hits only."""
    reasons = np.full(size, None, dtype=object)
    pending = np.ones(size, dtype=bool)
    for holds, message in rules:
        hit = pending & holds
        if hit.any():
            reasons[hit] = message if isinstance(message, str) else message(hit)
        pending &= ~hit
    return reasons


def _stray_character_reasons(t: Any) -> _Texts:
    leftover = pc.utf8_slice_codeunits(pc.replace_substring_regex(t, _ALLOWED_RUN, ""), 0, 1)
    rules: list[_Rule] = [
        (_mask(pc.match_substring_regex(t, _SCIENTIFIC)), _SCIENTIFIC_NOTATION),
        (_mask(pc.match_substring_regex(t, _EXTENSION)), _HAS_EXTENSION),
        (_mask(pc.match_substring_regex(t, _SEVERAL)), _SEVERAL_NUMBERS),
        (_mask(pc.match_substring_regex(t, _LETTERS)), _NOT_A_NUMBER),
        (np.ones(len(t), dtype=bool), lambda hit: _fill_all(_UNEXPECTED, _subset(leftover, hit))),
    ]
    return _first_reasons(len(t), rules)


def _numbers(digits: Any, start: _Ints, prefixed: _Mask, ok: _Mask) -> Any:
    """The 11-byte numbers of the `ok` rows, copied out of `digits`; null elsewhere.

    A prefixed row starts one byte early, and that byte (possibly the padding) becomes '7'.
    """
    padded = np.concatenate((np.zeros(1, np.uint8), digits, np.zeros(11, np.uint8)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 11)
    rows = windows[(start + 1 - prefixed)[ok]]
    rows[prefixed[ok], 0] = _SEVEN
    offsets = _running(np.where(ok, 11, 0))
    validity = np.packbits(ok, bitorder="little")
    return pa.StringArray.from_buffers(
        len(ok), pa.py_buffer(offsets), pa.py_buffer(rows.ravel()), pa.py_buffer(validity)
    )


def _str_of_objects(values: pd.Series) -> Any:
    return pa.array(values.astype(object).astype(_ARROW)).cast(pa.string())


def _arrow_text(values: pd.Series) -> Any:
    """Cells as pyarrow strings exactly as `str()` renders them (null when missing).

    Integer columns and float columns of whole numbers (Excel's phone columns, the latter
    when blank cells are present) are formatted by pyarrow instead of a million `str()`
    calls: below 2**53 `str(x)` of a whole float is its integer digits and '.0'.
    """
    if isinstance(values.dtype, pd.StringDtype):
        return pa.array(values.astype(_ARROW)).cast(pa.string())
    if pd.api.types.is_integer_dtype(values.dtype):
        return pa.array(values).cast(pa.string())
    if values.dtype != np.float64:
        return _str_of_objects(values)
    x = values.to_numpy()
    whole = np.isfinite(x) & (np.abs(x) < 2.0**53) & (x == np.trunc(x)) & ~np.signbit(x)
    text = pc.binary_join_element_wise(
        pa.array(np.where(whole, x, 0).astype(np.int64), mask=~whole).cast(pa.string()), ".0", ""
    )
    other = ~whole & ~np.isnan(x)
    if other.any():
        text = pc.replace_with_mask(text, pa.array(other), _str_of_objects(values[other]))
    return text


def _normalize_arrow(cells: Any) -> tuple[Any, _Texts]:
    """(numbers or null, reasons or None) of a pyarrow string array."""
    size = len(cells)
    t = pc.utf8_rtrim(pc.utf8_ltrim(pc.fill_null(cells, ""), _LEADING_JUNK), _TRAILING_JUNK)
    b = _Utf8(t)
    float_cell = _regex_where(t, _FLOAT_CELL, b.has(_DOT_OR_COMMA))
    if float_cell.any():
        cut = pc.replace_substring_regex(_subset(t, float_cell), _FLOAT_CELL, "\\1")
        t = pc.replace_with_mask(t, pa.array(float_cell), cut)
        b = _Utf8(t)
    stray = _regex_where(t, _NOT_ALLOWED, b.has(_STRAY))
    stray_reasons = np.full(size, None, dtype=object)
    if stray.any():
        stray_reasons[stray] = _stray_character_reasons(_subset(t, stray))

    is_digit = (b.classes & _DIGIT).view(np.bool_)
    digits = np.append(b.data[is_digit], np.uint8(0))
    n = b.count(is_digit)
    digit_starts = _running(n)[:-1]
    first = digits[digit_starts]
    plus = b.data[b.starts] == _PLUS
    eight = ~plus & (n == 11) & (first == _EIGHT)
    prefixed = eight | (~plus & (n == 10))
    start = digit_starts + eight
    area_first = digits[np.minimum(start + ~prefixed, len(digits) - 1)]

    rules: list[_Rule] = [
        (b.lengths == 0, _EMPTY),
        (stray, lambda hit: stray_reasons[hit]),
        (b.has(_INNER_PLUS), _MISPLACED_PLUS),
        (n == 0, _NO_DIGITS),
        (
            n < np.where(plus, 11, 10),
            lambda hit: _fill_all(_TOO_SHORT, _decimal(n[hit])),
        ),
        (n > 11, lambda hit: _fill_all(_TOO_LONG, _decimal(n[hit]))),
        (plus & (first == _ZERO), _PLUS_ZERO),
        (plus & (first == _EIGHT), _PLUS_EIGHT),
        (~plus & (n == 10) & ~_RUSSIAN_AREA[first], _NOT_NATIONAL),
        (~plus & (first == _ZERO), _STARTS_WITH_ZERO),
        (
            (np.where(prefixed, _SEVEN, first) == _SEVEN) & _NO_SUCH_AREA[area_first],
            lambda hit: _fill_all(_IMPOSSIBLE, _decimal(area_first[hit] - _ZERO)),
        ),
    ]
    reasons = _first_reasons(size, rules)
    return _numbers(digits, start, prefixed, pd.isna(reasons)), reasons


def normalize_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised `normalize`: (number or <NA>, reason or <NA>) aligned to `values.index`.

    Runs as pyarrow kernels and numpy arithmetic on the UTF-8 bytes; regexes only see the
    rows that could match them, and only failing rows pay for building their message.
    A column pyarrow cannot hold (lone surrogates, undecodable bytes) goes row by row
    through `normalize`'s own code instead.
    """
    try:
        cells = _arrow_text(values)
    except UnicodeError:
        pairs = np.frompyfunc(_number_or_reason, 1, 2)(values.to_numpy(dtype=object))
        return (
            pd.Series(pairs[0], index=values.index, dtype=_PYTHON_RESULT),
            pd.Series(pairs[1], index=values.index, dtype=_PYTHON_RESULT),
        )
    if isinstance(cells, pa.ChunkedArray):  # read_csv(engine="pyarrow") chunks big columns
        cells = cells.combine_chunks()
    numbers, reasons = _normalize_arrow(cells)
    return (
        pd.Series(numbers, index=values.index, dtype=_ARROW_RESULT),
        pd.Series(pa.array(reasons, type=pa.string()), index=values.index, dtype=_ARROW_RESULT),
    )
