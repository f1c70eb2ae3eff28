"""PHONE_PATTERN and PHONE_INT_RANGES state exactly what `normalize` accepts: the HTTP
contract publishes them, so a client validating against it never sends what is refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.telecom.numbers import PHONE_INT_RANGES, PHONE_PATTERN, InvalidNumber, normalize

NEAR_PHONES = st.text(alphabet="0123456789+ -.()\"'=,;\u00a0x", max_size=20)
"""Texts made of what phone cells hold, so that both sides of the pattern get hit."""


def accepted(value: object) -> bool:
    try:
        normalize(value)
    except InvalidNumber:
        return False
    return True


@given(st.from_regex(PHONE_PATTERN, fullmatch=True))
def test_every_text_the_pattern_matches_is_accepted(text: str) -> None:
    assert accepted(text)


@given(NEAR_PHONES)
def test_the_pattern_matches_exactly_the_accepted_texts(text: str) -> None:
    assert (re.fullmatch(PHONE_PATTERN, text) is not None) == accepted(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_the_ranges_hold_exactly_the_accepted_integers(number: int) -> None:
    assert any(low <= number <= high for low, high in PHONE_INT_RANGES) == accepted(number)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("+7 (910) 123-45-67", True),
        ("8 910 123 45 67", True),
        ("9101234567", True),
        ("79101234567.0", True),
        ("=79101234567", True),
        ("+8 910 123 45 67", False),
        ("70101234567", False),
        ("7910123456", False),
        ("0", False),
        ("79101234567\n", True),
        ("7 910 123 45 67 доб. 12", False),
    ],
)
def test_common_notations(text: str, matches: bool) -> None:
    assert (re.fullmatch(PHONE_PATTERN, text) is not None) is matches
