from __future__ import annotations

import re
import time
from collections.abc import Sequence
from string import Formatter

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dialer.telecom.number_columns import normalize_series
from dialer.telecom.numbers import REASONS, InvalidNumber, normalize

ACCEPTED = [
    # docs/design.md §8 and the brief
    ("8 (910) 123-45-67", "79101234567"),
    ("+7 910 1234567", "79101234567"),
    ("9101234567", "79101234567"),
    ("+7 910 123-45-67", "79101234567"),  # docs/design.md §9 contacts example
    ("7-910-123-45-67", "79101234567"),
    ("8-800-555-35-35", "78005553535"),
    ("8.910.123.45.67", "79101234567"),
    ("+7\xa0910\xa0123\xa045\xa067", "79101234567"),
    ("+7\u202f910\u2009123\u201345\u201467", "79101234567"),
    ('"+7 910 123-45-67"', "79101234567"),
    ("«8 910 123 45 67»", "79101234567"),
    ("'79101234567", "79101234567"),
    ('="79101234567"', "79101234567"),
    ("\ufeff79101234567", "79101234567"),
    (" 79101234567;", "79101234567"),
    ("(495) 123-45-67", "74951234567"),
    ("3812345678", "73812345678"),
    ("4951234567", "74951234567"),
    ("8001234567", "78001234567"),
    ("+1 212 555 0100", "12125550100"),
    ("12125550100", "12125550100"),
    ("+49 30 1234567", "49301234567"),
    ("77011234567", "77011234567"),  # Kazakhstan shares +7
    # sb-api.md examples, written with 11 digits as the table demands
    ("74997090111", "74997090111"),
    ("79103880489", "79103880489"),
    # spreadsheet cells
    ("79101234567.0", "79101234567"),
    ("79101234567,00", "79101234567"),
    ("9101234567.0", "79101234567"),
    (79101234567, "79101234567"),
    (79101234567.0, "79101234567"),
    (np.int64(89101234567), "79101234567"),
    (np.float64(79101234567.0), "79101234567"),
    (b"89101234567", "79101234567"),
]

REJECTED = [
    ("", "empty"),
    ("   ", "empty"),
    ('""', "empty"),
    (None, "empty"),
    (float("nan"), "empty"),
    (pd.NA, "empty"),
    ("7.91012E+10", "scientific notation has lost digits: format the column as text"),
    ("7,91012e10", "scientific notation has lost digits: format the column as text"),
    (1e16, "scientific notation has lost digits: format the column as text"),
    ("79101234567 доб. 123", "has an extension: sb-api dials the number only"),
    ("+7 910 123-45-67 ext 5", "has an extension: sb-api dials the number only"),
    ("79101234567x12", "has an extension: sb-api dials the number only"),
    ("79101234567#12", "has an extension: sb-api dials the number only"),
    ("79101234567, 79101234568", "more than one number"),
    ("79101234567/68", "more than one number"),
    ("abc", "not a number"),
    ("тел. 79101234567", "not a number"),
    ("nan", "not a number"),
    (True, "not a number"),
    (float("inf"), "not a number"),
    ("79101234567!", "unexpected character '!'"),
    ("＋79101234567", "unexpected character '＋'"),
    ("7+9101234567", "'+' may only start the number"),
    ("++79101234567", "'+' may only start the number"),
    ("+", "no digits"),
    ("()-", "no digits"),
    ("12345", "too short: 5 digits (sb-api takes exactly 11)"),
    ("910123456", "too short: 9 digits (sb-api takes exactly 11)"),
    ("+7 910 123 45 6", "too short: 10 digits (sb-api takes exactly 11)"),
    ("+44 20 7946 0958", "too long: 12 digits (sb-api takes exactly 11)"),
    ("791012345678", "too long: 12 digits (sb-api takes exactly 11)"),
    ("79101234567.5", "too long: 12 digits (sb-api takes exactly 11)"),
    ("+0 123 456 78 90", "country code cannot start with 0"),
    ("+8 910 123 45 67", "'+8…' is not accepted: write Russian numbers as +7… or 8…"),
    ("7910123456", "10 digits but not a Russian number: the area code starts with 3, 4, 8 or 9"),
    ("0123456789", "10 digits but not a Russian number: the area code starts with 3, 4, 8 or 9"),
    ("01234567890", "cannot start with 0: write international numbers with '+'"),
    ("71234567890", "not a valid +7 number: the area code cannot start with 1"),
    ("80123456789", "not a valid +7 number: the area code cannot start with 0"),
    ("+7 210 123 45 67", "not a valid +7 number: the area code cannot start with 2"),
    ("75101234567", "not a valid +7 number: the area code cannot start with 5"),
]


def outcome(raw: object) -> tuple[str | None, str | None]:
    try:
        return normalize(raw), None
    except InvalidNumber as exc:
        return None, exc.reason


def series_outcomes(values: Sequence[object]) -> list[tuple[str | None, str | None]]:
    numbers, reasons = normalize_series(pd.Series(values, dtype=object))
    return [
        (None if pd.isna(n) else n, None if pd.isna(r) else r)
        for n, r in zip(numbers, reasons, strict=True)
    ]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_normalize_accepts(raw: object, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), REJECTED)
def test_normalize_rejects_with_reason(raw: object, reason: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        normalize(raw)
    assert caught.value.reason == reason
    assert caught.value.value is raw
    assert reason in str(caught.value)


def _fits(template: str, reason: str) -> bool:
    pattern = "".join(
        re.escape(literal) + ("" if name is None else ".+")
        for literal, name, _, _ in Formatter().parse(template)
    )
    return re.fullmatch(pattern, reason) is not None


def test_every_reason_is_a_published_template_and_every_template_is_used() -> None:
    """A translation recognises reasons by `REASONS`: none may be worded outside it."""
    for _, reason in REJECTED:
        assert any(_fits(template, reason) for template in REASONS.values()), reason
    used = {code for code, text in REASONS.items() for _, r in REJECTED if _fits(text, r)}
    assert used == set(REASONS)


def test_series_matches_every_table_row() -> None:
    values = [raw for raw, _ in ACCEPTED] + [raw for raw, _ in REJECTED]
    expected = [(number, None) for _, number in ACCEPTED] + [(None, r) for _, r in REJECTED]
    assert series_outcomes(values) == expected


def test_series_keeps_index_and_returns_nullable_strings() -> None:
    values = pd.Series(["8 910 123 45 67", "12"], index=[10, 3])
    numbers, reasons = normalize_series(values)
    assert list(numbers.index) == [10, 3]
    assert list(reasons.index) == [10, 3]
    assert numbers[10] == "79101234567"
    assert numbers[3] is pd.NA
    assert reasons[10] is pd.NA
    assert reasons[3] == "too short: 2 digits (sb-api takes exactly 11)"
    assert str(numbers.dtype) == "string"


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([79101234567.0, np.nan, 1e16, 12.0]),
        pd.Series([79101234567, 89101234567, 1]),
        pd.Series([79101234567, None], dtype="Int64"),
        pd.Series(["89101234567", None, " +7 910 123 45 67 "], dtype="str"),
        pd.Series(["89101234567", None], dtype="string[python]"),
        pd.Series([True, False]),
        pd.Series([], dtype="str"),
    ],
    ids=["float64", "int64", "Int64", "str", "string-python", "bool", "empty"],
)
def test_series_agrees_with_scalar_for_column_dtypes(values: pd.Series) -> None:
    assert series_outcomes(list(values.astype(object))) == [outcome(v) for v in values]
    numbers, reasons = normalize_series(values)
    assert list(zip(numbers.astype(object), reasons.astype(object), strict=True)) == [
        tuple(pd.NA if part is None else part for part in outcome(v)) for v in values
    ]


def test_series_handles_text_pyarrow_cannot_hold() -> None:
    values: list[object] = ["\ud800", b"\xff79101234567", "89101234567"]
    assert series_outcomes(values) == [
        (None, "unexpected character '\ud800'"),
        (None, "unexpected character '\udcff'"),
        ("79101234567", None),
    ]
    assert [outcome(v) for v in values] == series_outcomes(values)


PHONE_ALPHABET = st.sampled_from(
    list("0123456789+-.() ,;/#xXeEдоб'\"=«»\t\n\xa0\u2013\u202f\ufeffabcЁ!＋")
)
PHONE_LIKE = st.one_of(
    st.text(PHONE_ALPHABET, max_size=20),
    st.text(max_size=20),
    st.from_regex(r"\A[+]?[78]?[ (]?[0-9]{3}[) ]?[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{1,13}([.,]0+)?\Z"),
    st.from_regex(r"\A[0-9][.,][0-9]{1,6}[Ee][+]?[0-9]{1,2}\Z"),
)
CELLS = st.one_of(
    PHONE_LIKE,
    st.none(),
    st.integers(min_value=-(10**13), max_value=10**13),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PHONE_LIKE, max_size=30))
@example(["8 (910) 123-45-67", "", "+", "7\n", "\n7", "79101234567.0\n"])
def test_series_agrees_with_scalar_on_any_strings(values: list[str]) -> None:
    assert series_outcomes(list(values)) == [outcome(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, max_size=30))
def test_series_agrees_with_scalar_on_mixed_cells(values: list[object]) -> None:
    assert series_outcomes(values) == [outcome(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(CELLS)
def test_normalize_raises_only_invalid_number_and_is_idempotent(raw: object) -> None:
    number, reason = outcome(raw)
    if number is None:
        assert reason
        return
    assert len(number) == 11
    assert number.isascii()
    assert number.isdigit()
    assert normalize(number) == number
    assert normalize("+" + number) == number


def test_series_speed_on_a_million_rows() -> None:
    # CPU time, not wall time: other processes share the machine. It counts every thread.
    column = pd.Series(["+7 910 123-45-67", "8 (495) 123 45 67", "9101234567", "abc"] * 250_000)
    started = time.process_time()
    numbers, reasons = normalize_series(column)
    elapsed = time.process_time() - started
    assert numbers.notna().sum() == 750_000
    assert reasons.eq("not a number").sum() == 250_000
    assert elapsed < 2.0, f"{elapsed:.2f} CPU s for 1,000,000 rows"


def test_a_column_in_several_arrow_chunks_is_normalised_whole() -> None:
    import pyarrow as pa  # type: ignore[import-untyped]

    chunked = pa.chunked_array([["8 (910) 123-45-67", "bad"], ["+7 910 1234567"]])
    values = pd.Series(pd.arrays.ArrowStringArray(chunked))  # as read_csv(engine="pyarrow")
    numbers, reasons = normalize_series(values)
    assert numbers.tolist() == ["79101234567", pd.NA, "79101234567"]
    assert reasons.tolist() == [pd.NA, "not a number", pd.NA]
