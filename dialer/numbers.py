"""Phone numbers in the form sb-api takes: "strictly 11 digits, E.164", without the '+'.

One rule set, two paths: `normalize` for a single value (API payloads, DTMF targets) and
`normalize_series` for whole import columns, which runs the same steps as pyarrow kernels.
The regular expressions are shared and written in the subset where Python's `re` and
pyarrow's RE2 agree (literal characters in explicit classes, no `\\s`/`\\d`/`\\w`, no case
folding), so both paths give identical results; a property test holds them to it.

Rules beyond the obvious:
- '8' + 10 digits and bare 10 Russian national digits (area code 3, 4, 8 or 9) become '7…'.
- '+8…' is refused: without its '+' it would be read back as a Russian '8…' number, so
  accepting it would make normalisation non-idempotent.
- A '7…' number whose area code starts with 0, 1, 2 or 5 does not exist (6 and 7 are
  Kazakhstan's, which shares +7).
- Spreadsheet artefacts: '79101234567.0' is a float cell and is accepted; '7.91012E+10'
  is a float rendered in scientific notation that has lost digits and is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

__all__ = ["InvalidNumber", "normalize", "normalize_series"]


def _cls(chars: str, *, negate: bool = False) -> str:
    """A character class both regex engines read the same way (literal characters)."""
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in chars)
    return f"[{'^' if negate else ''}{escaped}]"


_SPACES = " \t\n\r\f\v\xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    map(chr, range(0x2000, 0x200C))  # en quad … zero width space
)
_DASHES = "-\u2212" + "".join(map(chr, range(0x2010, 0x2016)))  # hyphen … horizontal bar
_SEPARATORS = _SPACES + _DASHES + ".()"
_QUOTES = "\"'`«»‘’‚‛“”„‟"
_LEADING_JUNK = _SPACES + _QUOTES + "="  # '=' from Excel's ="0123" text cells
_TRAILING_JUNK = _SPACES + _QUOTES + ",;"

_SCIENTIFIC = "^[0-9]+(?:[.,][0-9]+)?[Ee][+\\-]?[0-9]+$"
# Anchored patterns only meet text already stripped of trailing whitespace, where Python's
# `$` (which also matches before a final newline) means what RE2's `$` means.
_FLOAT_CELL = "^([0-9]+)[.,]0+$"
_ALLOWED = "0123456789+" + _SEPARATORS
_NOT_ALLOWED = _cls(_ALLOWED, negate=True)
_ALLOWED_RUN = _cls(_ALLOWED) + "+"
_EXTENSION = "[0-9]" + _cls(_SEPARATORS + ",;") + "*(?:[Ee][Xx][Tt]|[Дд][Оо][Бб]|[XxХх]|#)"
_SEVERAL = "[,;/|]"
_LETTERS = "[A-Za-zА-яЁё]"
_NOT_DIGIT_OR_PLUS = "[^0-9+]"

_RUSSIAN_AREA_FIRST = tuple("3489")  # Russian area codes; 6 and 7 are Kazakhstan's
_IMPOSSIBLE_AFTER_7 = tuple("0125")

_EMPTY = "empty"
_SCIENTIFIC_NOTATION = "scientific notation has lost digits: format the column as text"
_HAS_EXTENSION = "has an extension: sb-api dials the number only"
_SEVERAL_NUMBERS = "more than one number"
_NOT_A_NUMBER = "not a number"
_MISPLACED_PLUS = "'+' may only start the number"
_NO_DIGITS = "no digits"
_PLUS_ZERO = "country code cannot start with 0"
_PLUS_EIGHT = "'+8…' is not accepted: write Russian numbers as +7… or 8…"
_NOT_NATIONAL = "10 digits but not a Russian number: the area code starts with 3, 4, 8 or 9"
_STARTS_WITH_ZERO = "cannot start with 0: write international numbers with '+'"
# (before, after) around a per-row part
_UNEXPECTED = ("unexpected character '", "'")
_TOO_SHORT = ("too short: ", " digits (sb-api takes exactly 11)")
_TOO_LONG = ("too long: ", " digits (sb-api takes exactly 11)")
_IMPOSSIBLE = ("not a valid +7 number: the area code cannot start with ", "")


class InvalidNumber(ValueError):
    """A value that cannot be turned into an 11-digit number; `reason` is for people."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(f"invalid phone number {value!r}: {reason}")
        self.value = value
        self.reason = reason


_re_scientific = re.compile(_SCIENTIFIC)
_re_float_cell = re.compile(_FLOAT_CELL)
_re_not_allowed = re.compile(_NOT_ALLOWED)
_re_allowed_run = re.compile(_ALLOWED_RUN)
_re_extension = re.compile(_EXTENSION)
_re_several = re.compile(_SEVERAL)
_re_letters = re.compile(_LETTERS)
_re_not_digit_or_plus = re.compile(_NOT_DIGIT_OR_PLUS)


def _as_text(raw: object) -> str | None:
    """Text of a cell the way pandas' `astype(str)` renders it; None when missing."""
    if isinstance(raw, str):
        return raw
    if pd.api.types.is_scalar(raw) and pd.isna(cast("Any", raw)):
        return None
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="surrogateescape")
    return str(raw)


def _stray_character_reason(t: str) -> str:
    if _re_scientific.search(t):
        return _SCIENTIFIC_NOTATION
    if _re_extension.search(t):
        return _HAS_EXTENSION
    if _re_several.search(t):
        return _SEVERAL_NUMBERS
    if _re_letters.search(t):
        return _NOT_A_NUMBER
    return _UNEXPECTED[0] + _re_allowed_run.sub("", t)[:1] + _UNEXPECTED[1]


def _number_or_reason(raw: object) -> tuple[str | None, str | None]:
    """(number, None) or (None, reason): the scalar twin of `normalize_series`."""
    text = _as_text(raw)
    t = "" if text is None else text.lstrip(_LEADING_JUNK).rstrip(_TRAILING_JUNK)
    if not t:
        return None, _EMPTY
    t = _re_float_cell.sub("\\1", t)
    if _re_not_allowed.search(t):
        return None, _stray_character_reason(t)
    plus = t.startswith("+")
    if "+" in t[1:]:
        return None, _MISPLACED_PLUS
    digits = _re_not_digit_or_plus.sub("", t).removeprefix("+")
    n, first = len(digits), digits[:1]
    if n == 0:
        return None, _NO_DIGITS
    if n < (11 if plus else 10):
        return None, _TOO_SHORT[0] + str(n) + _TOO_SHORT[1]
    if n > 11:
        return None, _TOO_LONG[0] + str(n) + _TOO_LONG[1]
    if plus and first == "0":
        return None, _PLUS_ZERO
    if plus and first == "8":
        return None, _PLUS_EIGHT
    if not plus and n == 10 and first not in _RUSSIAN_AREA_FIRST:
        return None, _NOT_NATIONAL
    if not plus and first == "0":
        return None, _STARTS_WITH_ZERO
    if not plus and n == 10:
        digits = "7" + digits
    elif not plus and first == "8":
        digits = "7" + digits[1:]
    if digits[:1] == "7" and digits[1:2] in _IMPOSSIBLE_AFTER_7:
        return None, _IMPOSSIBLE[0] + digits[1:2] + _IMPOSSIBLE[1]
    return digits, None


def normalize(raw: object) -> str:
    """The 11-digit sb-api form of `raw` (text, int or float cell); raises InvalidNumber."""
    number, reason = _number_or_reason(raw)
    if number is None:
        raise InvalidNumber(raw, reason or _EMPTY)
    return number


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
    numbers, reasons = _normalize_arrow(cells)
    return (
        pd.Series(numbers, index=values.index, dtype=_ARROW_RESULT),
        pd.Series(pa.array(reasons, type=pa.string()), index=values.index, dtype=_ARROW_RESULT),
    )
