"""Phone numbers in the form sb-api takes: "strictly 11 digits, E.164", without the '+'.

One rule set, two paths: `normalize` here for a single value (API payloads, DTMF targets),
and `dialer.telecom.number_columns.normalize_series` for whole import columns, which runs the same
steps as pyarrow kernels. This module stays free of pandas so that everything needing one
number loads fast. The regular expressions are shared and written in the subset where
Python's `re` and pyarrow's RE2 agree (literal characters in explicit classes, no
`\\s`/`\\d`/`\\w`, no case folding), so both paths give identical results; a property test
holds them to it.

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

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["PHONE_INT_RANGES", "PHONE_PATTERN", "REASONS", "InvalidNumber", "normalize"]


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

REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "empty": "empty",
        "scientific": "scientific notation has lost digits: format the column as text",
        "extension": "has an extension: sb-api dials the number only",
        "several": "more than one number",
        "not_a_number": "not a number",
        "misplaced_plus": "'+' may only start the number",
        "no_digits": "no digits",
        "plus_zero": "country code cannot start with 0",
        "plus_eight": "'+8…' is not accepted: write Russian numbers as +7… or 8…",
        "not_national": (
            "10 digits but not a Russian number: the area code starts with 3, 4, 8 or 9"
        ),
        "starts_with_zero": "cannot start with 0: write international numbers with '+'",
        "unexpected": "unexpected character '{char}'",
        "too_short": "too short: {digits} digits (sb-api takes exactly 11)",
        "too_long": "too long: {digits} digits (sb-api takes exactly 11)",
        "impossible_area": "not a valid +7 number: the area code cannot start with {digit}",
    }
)
"""Every reason a number is refused, by a stable code: the texts below are formatted from it,
and a translation can recognise a reason by its template ({field} is the per-row part)."""


def _around(code: str) -> tuple[str, str]:
    """(before, after) around the one per-row field of a reason."""
    before, _, rest = REASONS[code].partition("{")
    return before, rest.partition("}")[2]


_EMPTY = REASONS["empty"]
_SCIENTIFIC_NOTATION = REASONS["scientific"]
_HAS_EXTENSION = REASONS["extension"]
_SEVERAL_NUMBERS = REASONS["several"]
_NOT_A_NUMBER = REASONS["not_a_number"]
_MISPLACED_PLUS = REASONS["misplaced_plus"]
_NO_DIGITS = REASONS["no_digits"]
_PLUS_ZERO = REASONS["plus_zero"]
_PLUS_EIGHT = REASONS["plus_eight"]
_NOT_NATIONAL = REASONS["not_national"]
_STARTS_WITH_ZERO = REASONS["starts_with_zero"]
_UNEXPECTED = _around("unexpected")
_TOO_SHORT = _around("too_short")
_TOO_LONG = _around("too_long")
_IMPOSSIBLE = _around("impossible_area")


class InvalidNumber(ValueError):
    """A value that cannot be turned into an 11-digit number; `reason` is for people."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(f"invalid phone number {value!r}: {reason}")
        self.value = value
        self.reason = reason


def _digits(count: int) -> str:
    return f"(?:{_cls(_SEPARATORS)}*[0-9]){{{count}}}"


_S = _cls(_SEPARATORS) + "*"
_PLUS_FORM = f"\\+{_S}(?:[1-69]{_S}[0-9]|7{_S}[346789]){_digits(9)}"
_ELEVEN_FORM = f"(?:[1-69]{_S}[0-9]|[78]{_S}[346789]){_digits(9)}"
_NATIONAL_FORM = f"[3489]{_digits(9)}"
_FLOAT_FORM = "(?:(?:[1-69][0-9]|[78][346789])[0-9]{9}|[3489][0-9]{9})[.,]0+"
PHONE_PATTERN = (
    f"^{_cls(_LEADING_JUNK)}*"
    f"(?:(?:{_PLUS_FORM}|{_S}(?:{_ELEVEN_FORM}|{_NATIONAL_FORM})){_S}|{_FLOAT_FORM})"
    f"{_cls(_TRAILING_JUNK)}*$"
)
"""Exactly the texts `normalize` accepts, for contracts that state it (a property test holds
the two together): separators anywhere between the digits, the junk it strips around them."""
PHONE_INT_RANGES = (
    (3_000_000_000, 4_999_999_999),
    (8_000_000_000, 9_999_999_999),
    (10_000_000_000, 69_999_999_999),
    (73_000_000_000, 74_999_999_999),
    (76_000_000_000, 79_999_999_999),
    (83_000_000_000, 84_999_999_999),
    (86_000_000_000, 99_999_999_999),
)
"""Exactly the integers `normalize` accepts, as inclusive ranges: ten digits of a Russian
area code (3, 4, 8, 9), or eleven whose +7 area code (after 7 or 8) can exist."""


_re_scientific = re.compile(_SCIENTIFIC)
_re_float_cell = re.compile(_FLOAT_CELL)
_re_not_allowed = re.compile(_NOT_ALLOWED)
_re_allowed_run = re.compile(_ALLOWED_RUN)
_re_extension = re.compile(_EXTENSION)
_re_several = re.compile(_SEVERAL)
_re_letters = re.compile(_LETTERS)
_re_not_digit_or_plus = re.compile(_NOT_DIGIT_OR_PLUS)


def _is_missing(raw: object) -> bool:
    """None, NaN, and pandas' NA and NaT, recognised without importing pandas."""
    if raw is None:
        return True
    if isinstance(raw, float):
        return math.isnan(raw)
    return type(raw).__name__ in {"NAType", "NaTType"} or (
        type(raw).__module__ == "numpy" and raw != raw  # only NaN differs from itself
    )


def _as_text(raw: object) -> str | None:
    """Text of a cell the way pandas' `astype(str)` renders it; None when missing."""
    if isinstance(raw, str):
        return raw
    if _is_missing(raw):
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
