from __future__ import annotations

import pytest

from dialer.telecom.causes import CAUSES, DEFAULT_CATEGORIES, Category, cause_text, classify

# Every cause q850.md lists, with the ranges expanded.
LISTED = [
    *(1, 2, 3, 5, 16, 17, 18, 19, 20, 21, 22, 24, 25, 27, 28, 29, 31),
    *(34, 38, 41, 42, 44, 47, 50, 52, 53, 54, 55, 57, 58, 63, 88, 127),
    *range(65, 80),
    *range(95, 112),
]

C = Category
# q850.md "Default policy": cause → category (16 and 31 long enough to count as listened).
DEFAULT_ROWS = [
    *((cause, C.LISTENED) for cause in (16, 31)),
    (17, C.BUSY),
    *((cause, C.NO_ANSWER) for cause in (18, 19, 102)),
    *((cause, C.UNAVAILABLE) for cause in (20, 27)),
    *((cause, C.NETWORK) for cause in (25, 34, 38, 41, 42, 44, 47, 58, 63)),
    *((cause, C.INVALID_NUMBER) for cause in (1, 22, 28, 5)),
    *((cause, C.ROUTE_ERROR) for cause in (2, 3, 29, 50, 57, *range(65, 80), 88)),
    *((cause, C.REJECTED) for cause in (21, 24, *range(52, 56))),
    # anything unmapped is no_answer
    *((cause, C.NO_ANSWER) for cause in (0, 96, 111, 127, 200)),
]


@pytest.mark.parametrize("cause", LISTED)
def test_every_listed_cause_has_a_name_and_texts(cause: int) -> None:
    entry = CAUSES[cause]
    assert entry.name.isupper()
    assert entry.text
    assert entry.text_ru
    assert cause_text(cause) == entry.text
    assert cause_text(cause, lang="ru") == entry.text_ru


@pytest.mark.parametrize(
    ("cause", "name"),
    [
        (16, "NORMAL_CLEARING"),
        (17, "USER_BUSY"),
        (34, "NO_CIRCUIT_AVAILABLE"),
        (54, "INCOMING_CALL_BARRED"),
        (102, "RECOVERY_ON_TIMER_EXPIRE"),
        (71, "SERVICE_OR_OPTION_NOT_IMPLEMENTED"),
        (106, "PROTOCOL_ERROR"),
        (127, "INTERWORKING"),
    ],
)
def test_names_follow_the_reference(cause: int, name: str) -> None:
    assert CAUSES[cause].name == name


@pytest.mark.parametrize(
    ("cause", "lang", "text"),
    [
        (17, "en", "busy"),
        (17, "ru", "занято"),
        (20, "en", "mobile switched off or out of coverage"),
        (200, "en", "unknown cause 200"),
        (0, "en", "unknown cause 0"),
        (200, "ru", "неизвестная причина 200"),
        (17, "de", "busy"),
    ],
)
def test_cause_text(cause: int, lang: str, text: str) -> None:
    assert cause_text(cause, lang=lang) == text


def test_the_default_table_only_maps_catalogued_causes() -> None:
    assert set(DEFAULT_CATEGORIES) <= set(CAUSES)
    assert set(DEFAULT_CATEGORIES.values()) == set(Category) - {Category.HUNG_UP}


@pytest.mark.parametrize(("cause", "category"), DEFAULT_ROWS)
def test_default_mapping(cause: int, category: Category) -> None:
    assert classify(cause, 60, min_listen_seconds=3) is category


@pytest.mark.parametrize(
    ("cause", "duration", "min_listen", "category"),
    [
        (16, 3, 3, C.LISTENED),
        (16, 2, 3, C.HUNG_UP),
        (31, 0, 3, C.HUNG_UP),
        (31, 3, 3, C.LISTENED),
        (16, 9, 10, C.HUNG_UP),
        (16, 0, 0, C.LISTENED),
        (17, 0, 3, C.BUSY),  # duration only matters for a listened call
    ],
)
def test_a_short_listen_is_a_hang_up(
    cause: int, duration: int, min_listen: int, category: Category
) -> None:
    assert classify(cause, duration, min_listen_seconds=min_listen) is category


def test_a_given_mapping_replaces_the_default() -> None:
    mapping = {18: C.INVALID_NUMBER, 40: C.LISTENED}
    assert classify(18, 0, min_listen_seconds=3, mapping=mapping) is C.INVALID_NUMBER
    assert classify(40, 1, min_listen_seconds=3, mapping=mapping) is C.HUNG_UP
    assert classify(17, 0, min_listen_seconds=3, mapping=mapping) is C.NO_ANSWER


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        classify(16, -1, min_listen_seconds=3)
