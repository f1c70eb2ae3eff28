from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.telecom.causes import Category
from dialer.telecom.redial import (
    DEFAULT_RULES,
    ENDING_OF,
    Ending,
    Final,
    NextOpening,
    Redial,
    RedialPolicy,
    decide,
    decide_lost,
)

C = Category
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
MIN = 60
HOUR = 3600
DAY = 86400


def always_open(at: datetime) -> datetime:
    return at


def run(
    cause: int,
    duration: int = 0,
    *,
    history: Sequence[Category] = (),
    attempts: int = 0,
    network_attempts: int = 0,
    previous_cause: int | None = None,
    policy: RedialPolicy | None = None,
    next_opening: NextOpening = always_open,
) -> Final | Redial:
    return decide(
        cause=cause,
        duration=duration,
        history=history,
        attempts=attempts,
        network_attempts=network_attempts,
        policy=policy or RedialPolicy(),
        now=NOW,
        next_opening=next_opening,
        previous_cause=previous_cause,
    )


def redial(delay: int, category: Category, counts: bool = True) -> Redial:
    return Redial(NOW + timedelta(seconds=delay), category, counts)


def final(category: Category) -> Final:
    return Final(ENDING_OF[category], category)


NETWORK_CAUSES = (25, 34, 38, 41, 42, 44, 47, 58, 63)
ROUTE_CAUSES = (2, 3, 29, 50, 57, *range(65, 80), 88)

# Every row of q850.md's default policy: (cause, duration, history, previous cause, decision).
DEFAULT_POLICY_ROWS = [
    (16, 60, [], None, final(C.LISTENED)),
    (31, 3, [], None, final(C.LISTENED)),
    (16, 2, [], None, redial(3 * HOUR, C.HUNG_UP)),
    (31, 0, [], None, redial(3 * HOUR, C.HUNG_UP)),
    (16, 1, [C.HUNG_UP], None, final(C.HUNG_UP)),
    (17, 0, [], None, redial(15 * MIN, C.BUSY)),
    (17, 0, [C.BUSY], None, redial(60 * MIN, C.BUSY)),
    (17, 0, [C.NO_ANSWER], None, redial(15 * MIN, C.BUSY)),
    *((cause, 0, [], None, redial(2 * HOUR, C.NO_ANSWER)) for cause in (18, 19, 102, 127, 99)),
    (19, 0, [C.NO_ANSWER], None, redial(DAY, C.NO_ANSWER)),
    *((cause, 0, [], None, redial(3 * HOUR, C.UNAVAILABLE)) for cause in (20, 27)),
    (20, 0, [C.UNAVAILABLE], None, redial(DAY, C.UNAVAILABLE)),
    *((cause, 0, [], None, redial(5 * MIN, C.NETWORK, False)) for cause in NETWORK_CAUSES),
    (34, 0, [C.NETWORK], None, redial(15 * MIN, C.NETWORK, False)),
    (34, 0, [C.NETWORK] * 2, None, redial(60 * MIN, C.NETWORK, False)),
    *((cause, 0, [], None, final(C.INVALID_NUMBER)) for cause in (1, 5, 22, 28)),
    (18, 0, [C.NO_ANSWER], 18, final(C.INVALID_NUMBER)),
    (18, 0, [C.NO_ANSWER], 19, redial(DAY, C.NO_ANSWER)),
    (19, 0, [C.NO_ANSWER], 18, redial(DAY, C.NO_ANSWER)),
    *((cause, 0, [], None, final(C.ROUTE_ERROR)) for cause in ROUTE_CAUSES),
    *((cause, 0, [], None, redial(DAY, C.REJECTED)) for cause in (21, 24, 52, 53, 54, 55)),
    (21, 0, [C.REJECTED], None, final(C.REJECTED)),
]


@pytest.mark.parametrize(
    ("cause", "duration", "history", "previous", "expected"), DEFAULT_POLICY_ROWS
)
def test_default_policy(
    cause: int,
    duration: int,
    history: list[Category],
    previous: int | None,
    expected: Final | Redial,
) -> None:
    policy = RedialPolicy(max_attempts=10)  # the delay lists alone decide here
    assert run(cause, duration, history=history, previous_cause=previous, policy=policy) == expected


@pytest.mark.parametrize(
    ("cause", "attempts", "expected"),
    [
        (17, 0, redial(15 * MIN, C.BUSY)),
        (17, 1, redial(15 * MIN, C.BUSY)),
        (17, 2, final(C.BUSY)),
        (19, 2, final(C.NO_ANSWER)),
        (21, 2, final(C.REJECTED)),
        (34, 2, redial(5 * MIN, C.NETWORK, False)),  # network does not count
        (34, 40, redial(5 * MIN, C.NETWORK, False)),
    ],
)
def test_max_attempts_ends_counting_categories(
    cause: int, attempts: int, expected: Final | Redial
) -> None:
    assert run(cause, attempts=attempts) == expected


def test_the_busy_list_runs_out_before_a_larger_max_attempts() -> None:
    policy = RedialPolicy(max_attempts=10)
    assert run(17, history=[C.BUSY, C.BUSY], attempts=2, policy=policy) == final(C.BUSY)


@pytest.mark.parametrize(
    ("network_attempts", "history", "expected"),
    [
        (3, [C.NETWORK] * 3, redial(60 * MIN, C.NETWORK, False)),  # the last delay repeats
        (4, [C.NETWORK] * 4, final(C.NETWORK)),  # the fifth network failure is the cap
    ],
)
def test_network_has_its_own_cap(
    network_attempts: int, history: list[Category], expected: Final | Redial
) -> None:
    assert run(38, history=history, network_attempts=network_attempts) == expected
    assert final(C.NETWORK).ending == "network_error"


def test_the_network_cap_is_a_policy_value() -> None:
    policy = RedialPolicy(network_cap=2)
    assert run(41, network_attempts=1, policy=policy) == final(C.NETWORK)


def test_the_redial_time_is_pushed_to_the_next_opening() -> None:
    asked: list[datetime] = []

    def opening(at: datetime) -> datetime:
        asked.append(at)
        return at + timedelta(hours=5)

    decision = run(17, next_opening=opening)
    assert asked == [NOW + timedelta(minutes=15)]
    assert decision == Redial(NOW + timedelta(minutes=15, hours=5), C.BUSY, True)


def test_a_window_that_never_opens_again_expires_the_contact() -> None:
    decision = run(19, next_opening=lambda _at: None)
    assert decision == Final(Ending.EXPIRED, C.NO_ANSWER)


def test_a_final_outcome_does_not_ask_for_an_opening() -> None:
    def opening(at: datetime) -> datetime:
        raise AssertionError("a final outcome needs no window")

    assert run(16, 30, next_opening=opening) == final(C.LISTENED)


@pytest.mark.parametrize(
    ("history", "attempts", "expected"),
    [
        ([], 0, redial(2 * HOUR, C.NO_ANSWER)),
        ([C.NO_ANSWER], 1, redial(DAY, C.NO_ANSWER)),
        ([C.NO_ANSWER], 2, final(C.NO_ANSWER)),
    ],
)
def test_a_lost_call_is_treated_as_no_answer(
    history: list[Category], attempts: int, expected: Final | Redial
) -> None:
    decision = decide_lost(
        history=history,
        attempts=attempts,
        network_attempts=0,
        policy=RedialPolicy(),
        now=NOW,
        next_opening=always_open,
    )
    assert decision == expected


def test_overrides_replace_only_the_named_categories() -> None:
    policy = RedialPolicy(max_attempts=5).with_overrides({"busy": [60, 120, 180]})
    assert run(17, history=[C.BUSY] * 2, attempts=2, policy=policy) == redial(180, C.BUSY)
    assert run(17, history=[C.BUSY] * 3, attempts=3, policy=policy) == final(C.BUSY)
    assert run(19, policy=policy) == redial(2 * HOUR, C.NO_ANSWER)
    assert RedialPolicy().rules[C.BUSY] == DEFAULT_RULES[C.BUSY]


def test_the_design_example_overrides() -> None:
    policy = RedialPolicy().with_overrides({"busy": [900, 3600], "no_answer": [7200, 86400]})
    assert policy.rules == RedialPolicy().rules


def test_an_empty_list_means_never_redial() -> None:
    policy = RedialPolicy().with_overrides({"no_answer": []})
    assert run(19, policy=policy) == final(C.NO_ANSWER)


def test_a_never_category_can_be_given_delays() -> None:
    policy = RedialPolicy().with_overrides({"route_error": [DAY]})
    assert run(3, policy=policy) == redial(DAY, C.ROUTE_ERROR)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bussy": [900]}, "redial.bussy: unknown category 'bussy'"),
        ({"busy": [900, -5]}, r"redial.busy\[1\].*-5"),
        ({"busy": 900}, "redial.busy: expected a list"),
        ({"busy": "900"}, "redial.busy: expected a list"),
        ({"busy": [True]}, r"redial.busy\[0\].*True"),
        ({"busy": [1.5]}, r"redial.busy\[0\].*1.5"),
        ({"busy": [10**9]}, r"redial.busy\[0\]"),
        ({"listened": [60]}, "redial.listened: a listened call is final"),
    ],
)
def test_bad_overrides_name_the_key_and_value(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedialPolicy().with_overrides(overrides)  # type: ignore[arg-type]


def test_the_cause_table_can_be_fixed_per_policy() -> None:
    policy = RedialPolicy().with_causes({"18": "invalid_number", 480: "unavailable"})
    assert run(18, policy=policy) == final(C.INVALID_NUMBER)
    assert run(480, policy=policy) == redial(3 * HOUR, C.UNAVAILABLE)
    assert run(19, policy=policy) == redial(2 * HOUR, C.NO_ANSWER)
    assert run(18) == redial(2 * HOUR, C.NO_ANSWER)


@pytest.mark.parametrize(
    ("causes", "message"),
    [
        ({"17": "engaged"}, "causes.17: unknown category 'engaged'"),
        ({"x": "busy"}, "causes: 'x' is not a cause number"),
        ({-1: "busy"}, "causes: -1 is not a cause number"),
    ],
)
def test_bad_cause_overrides_name_the_key(causes: dict[int | str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedialPolicy().with_causes(causes)


def test_the_repeat_rule_can_be_switched_off() -> None:
    policy = RedialPolicy(repeat_invalid_causes=frozenset())
    decision = run(18, history=[C.NO_ANSWER], previous_cause=18, policy=policy)
    assert decision == redial(DAY, C.NO_ANSWER)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"network_cap": 0}, "network_cap"),
        ({"min_listen_seconds": -1}, "min_listen_seconds"),
        ({"rules": {C.BUSY: DEFAULT_RULES[C.BUSY]}}, "no rule for listened"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedialPolicy(**kwargs)  # type: ignore[arg-type]


def test_min_listen_seconds_comes_from_the_policy() -> None:
    assert run(16, 5, policy=RedialPolicy(min_listen_seconds=10)) == redial(3 * HOUR, C.HUNG_UP)


@pytest.mark.parametrize(
    ("now", "attempts", "message"),
    [(datetime(2026, 6, 15, 10, 0), 0, "timezone-aware"), (NOW, -1, "attempts")],
)
def test_bad_inputs_are_refused(now: datetime, attempts: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decide(
            cause=17,
            duration=0,
            history=[],
            attempts=attempts,
            network_attempts=0,
            policy=RedialPolicy(),
            now=now,
            next_opening=always_open,
        )


def test_counts_follows_the_table() -> None:
    policy = RedialPolicy()
    assert [c for c in Category if not policy.counts(c)] == [C.NETWORK]


@given(st.lists(st.integers(min_value=0, max_value=130), min_size=1, max_size=40))
def test_every_contact_ends_within_the_caps(causes: list[int]) -> None:
    """Whatever the network answers, a contact gets at most max_attempts + network_cap calls."""
    policy = RedialPolicy()
    history: list[Category] = []
    attempts = network_attempts = 0
    previous: int | None = None
    now = NOW
    for cause in causes:
        decision = decide(
            cause=cause,
            duration=1,
            history=history,
            attempts=attempts,
            network_attempts=network_attempts,
            policy=policy,
            now=now,
            next_opening=always_open,
            previous_cause=previous,
        )
        if isinstance(decision, Final):
            break
        assert decision.at > now
        history.append(decision.category)
        attempts += decision.counts
        network_attempts += not decision.counts
        previous, now = cause, decision.at
    assert len(history) <= policy.max_attempts + policy.network_cap - 2
