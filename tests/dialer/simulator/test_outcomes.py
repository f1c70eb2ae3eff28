"""Fate draws and call timelines, as pure functions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialer.simulator.options import DEFAULT_WEIGHTS, Fate, NumberRule, Rules
from dialer.simulator.outcomes import (
    CallPlan,
    Decision,
    build_plan,
    decide,
    seeded,
    tts_seconds,
    with_faults,
)
from dialer.simulator.validation import AcceptedCall, MenuAction
from dialer.simulator.wire import mtt_time

NUMBER = "79100000007"
NOTIFY_URL = "https://crm.example/notify"
EVENT_URL = "http://127.0.0.1:8000/webhooks/mtt/t"
ACCEPTED = datetime(2019, 3, 29, 8, 37, 13, tzinfo=UTC)
MENU = (
    MenuAction(1, "notify", NOTIFY_URL),
    MenuAction(3, "transfer", "74997090111"),
)
CAUSE_OF = {Fate.LISTENED: 16, Fate.HUNG_UP: 16, Fate.BUSY: 17}


def spec(
    menu: tuple[MenuAction, ...] = (), text: str = "x" * 70, ivr: bool = False
) -> AcceptedCall:
    return AcceptedCall(
        mess_id="42",
        method="ivr-api" if ivr or menu else "inform",
        ivr=ivr or bool(menu),
        sip_id="74996480000",
        b_number=NUMBER,
        a_number="74950000000",
        text=text,
        lang="ru-RU",
        voice="oksana",
        emotion="neutral",
        speed=1.0,
        menu=menu,
    )


def decision(
    outcome: Fate | None, cause: int, digit: int | None = None, forced: bool = True
) -> Decision:
    return Decision(cause, outcome, forced, digit, digit is not None)


def plan(call: AcceptedCall, chosen: Decision, seed: int = 1) -> CallPlan:
    return build_plan(
        call,
        "00035c7d92bb0971",
        chosen,
        accepted_at=ACCEPTED,
        event_url=EVENT_URL,
        chars_per_second=14.0,
        rng=seeded(seed),
    )


def rule(*causes: Any, dtmf: Any = None) -> NumberRule:
    return NumberRule(causes=list(causes), dtmf=dtmf)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (0, (17, Fate.BUSY)),
        (1, (19, Fate.NO_ANSWER)),
        (2, (16, Fate.LISTENED)),
        (9, (16, Fate.LISTENED)),
    ],
)
def test_scripted_attempts_follow_the_sequence_and_the_last_repeats(
    attempt: int, expected: tuple[int, Fate]
) -> None:
    chosen = decide(rule(17, "no_answer", 16), attempt, DEFAULT_WEIGHTS, 0.0, (), seeded(0))
    assert (chosen.cause, chosen.outcome, chosen.forced) == (*expected, True)


def test_a_cause_no_outcome_names_is_kept_raw() -> None:
    chosen = decide(rule(18), 0, DEFAULT_WEIGHTS, 0.0, (), seeded(0))
    assert (chosen.cause, chosen.outcome) == (18, None)


def test_network_outcome_picks_34_or_41() -> None:
    causes = {decide(rule("network"), 0, {}, 0.0, (), seeded(i)).cause for i in range(40)}
    assert causes == {34, 41}


def test_an_explicit_number_wins_over_its_last_digit() -> None:
    rules = Rules.model_validate(
        {"numbers": {NUMBER: ["busy"]}, "last_digit": {"7": ["rejected"], "1": [21]}}
    )
    assert rules.rule_for(NUMBER) == rule(Fate.BUSY)
    assert rules.rule_for("79100000001") == rule(21)
    assert rules.rule_for("79100000002") is None


def test_drawn_outcomes_follow_the_weights_and_the_seed() -> None:
    weights = {Fate.BUSY: 3.0, Fate.LISTENED: 1.0, Fate.INVALID: 0.0}
    drawn = Counter(decide(None, 0, weights, 0.0, (), seeded(7, i)).outcome for i in range(2000))
    assert set(drawn) == {Fate.BUSY, Fate.LISTENED}
    assert 0.70 < drawn[Fate.BUSY] / 2000 < 0.80
    again = Counter(decide(None, 0, weights, 0.0, (), seeded(7, i)).outcome for i in range(2000))
    assert again == drawn


@pytest.mark.parametrize(
    ("steps", "dtmf", "press_rate", "menu", "digit", "digit_forced"),
    [
        (["listened"], 3, 0.0, MENU, 3, True),
        (["listened"], "none", 1.0, MENU, None, True),
        (["hung_up"], 3, 1.0, MENU, None, False),
        (["listened"], 3, 1.0, (), None, False),
        (["listened"], None, 0.0, MENU, None, False),
    ],
    ids=["forced digit", "forced none", "hung up presses nothing", "no menu", "rate 0"],
)
def test_dtmf_choice(
    steps: list[str],
    dtmf: Any,
    press_rate: float,
    menu: tuple[MenuAction, ...],
    digit: int | None,
    digit_forced: bool,
) -> None:
    chosen = decide(rule(*steps, dtmf=dtmf), 0, DEFAULT_WEIGHTS, press_rate, menu, seeded(0))
    assert (chosen.digit, chosen.digit_forced) == (digit, digit_forced)


def test_a_drawn_press_is_one_of_the_menu_digits() -> None:
    digits = {decide(rule("listened"), 0, {}, 1.0, MENU, seeded(i)).digit for i in range(30)}
    assert digits == {1, 3}


@pytest.mark.parametrize(
    ("text", "speed", "seconds"),
    [("", 1.0, 1), ("x" * 14, 1.0, 1), ("x" * 15, 1.0, 2), ("x" * 70, 0.5, 10), ("x" * 70, 3.0, 2)],
)
def test_tts_length_follows_text_and_speed(text: str, speed: float, seconds: int) -> None:
    assert tts_seconds(text, speed, 14.0) == seconds


def names(call_plan: CallPlan) -> list[str]:
    return [event.fields["event"] for event in call_plan.events]


@pytest.mark.parametrize(
    ("outcome", "cause", "final"),
    [
        (Fate.LISTENED, 16, f"h_{NUMBER}_16_5"),
        (Fate.BUSY, 17, f"h_{NUMBER}_17_0"),
        (Fate.NO_ANSWER, 19, f"h_{NUMBER}_19_0"),
        (Fate.UNAVAILABLE, 20, f"h_{NUMBER}_20_0"),
        (None, 102, f"h_{NUMBER}_102_0"),
    ],
)
def test_plain_call_sends_o_then_h_with_cause_and_listened_seconds(
    outcome: Fate | None, cause: int, final: str
) -> None:
    call_plan = plan(spec(), decision(outcome, cause))
    assert names(call_plan) == [f"o_{NUMBER}", final]
    assert [e.url for e in call_plan.events] == [EVENT_URL, EVENT_URL]
    first = call_plan.events[0]
    assert first.fields == {
        "date_time": mtt_time(ACCEPTED + timedelta(seconds=first.at)),
        "id": "42",
        "CallID": "00035c7d92bb0971",
        "event": f"o_{NUMBER}",
    }
    assert call_plan.ended_at == call_plan.events[-1].at


def test_hung_up_is_short_and_shorter_than_the_message() -> None:
    durations = {plan(spec(), decision(Fate.HUNG_UP, 16), seed).duration for seed in range(30)}
    assert durations == {0, 1, 2}


def test_ivr_notify_choice_sends_n_to_the_action_url_then_hangs_up() -> None:
    call_plan = plan(spec(MENU), decision(Fate.LISTENED, 16, digit=1))
    o, n, h = call_plan.events
    assert (n.url, n.target, n.fields["dtmf"], n.fields["type"]) == (
        NOTIFY_URL,
        "notify",
        "1",
        "notify",
    )
    assert n.fields["event"] == f"n_{NUMBER}"
    assert h.fields["event"] == f"h_{NUMBER}_16_{call_plan.duration}"
    assert call_plan.tts + 1 + 3 <= call_plan.duration <= call_plan.tts + 3 + 3
    assert o.at < n.at < h.at


def test_ivr_transfer_legs_then_the_callee_h_sent_last_but_dated_earlier() -> None:
    call_plan = plan(spec(MENU), decision(Fate.LISTENED, 16, digit=3))
    assert call_plan.transfer is not None
    talk = call_plan.transfer.talk
    assert names(call_plan) == [
        f"o_{NUMBER}",
        "o_74997090111",
        f"h_74997090111_16_{talk}",
        f"h_{NUMBER}_16_{call_plan.duration}",
    ]
    _, leg_o, leg_h, final = call_plan.events
    assert leg_o.fields["type"] == leg_h.fields["type"] == "transfer"
    assert leg_o.fields["dtmf"] == leg_h.fields["dtmf"] == "3"
    assert "dtmf" not in final.fields
    assert final.fields["date_time"] < leg_h.fields["date_time"]
    assert final.at == leg_h.at
    assert call_plan.duration > call_plan.tts + talk


@pytest.mark.parametrize(
    ("outcome", "digit", "notified"),
    [
        (Fate.LISTENED, None, True),
        (Fate.HUNG_UP, None, True),
        (Fate.BUSY, None, False),
        (Fate.LISTENED, 5, True),
    ],
    ids=["listened", "hung up", "busy", "digit not in menu"],
)
def test_no_choice_sends_n_with_null_digit_to_the_first_notify_url(
    outcome: Fate, digit: int | None, notified: bool
) -> None:
    call_plan = plan(spec(MENU), decision(outcome, CAUSE_OF[outcome], digit=digit))
    n_events = [e for e in call_plan.events if e.leg == "n"]
    assert bool(n_events) is notified
    if notified:
        assert (n_events[0].fields["dtmf"], n_events[0].url) == ("null", NOTIFY_URL)
        assert call_plan.events[-1].leg == "h"


def test_a_menu_without_notify_sends_no_n() -> None:
    menu = (MenuAction(3, "transfer", "74997090111"),)
    call_plan = plan(spec(menu), decision(Fate.LISTENED, 16))
    assert names(call_plan) == [f"o_{NUMBER}", f"h_{NUMBER}_16_{call_plan.duration}"]


def faults(call_plan: CallPlan, **rates: float) -> list[Any]:
    knobs = {"duplicate_rate": 0.0, "reorder_rate": 0.0, "drop_final_rate": 0.0} | rates
    return list(with_faults(call_plan.events, rng=seeded(3), **knobs))


def test_no_fault_rates_leave_the_events_alone() -> None:
    call_plan = plan(spec(MENU), decision(Fate.LISTENED, 16, digit=3))
    assert faults(call_plan) == list(call_plan.events)


def test_reorder_sends_the_final_before_the_originate() -> None:
    events = faults(plan(spec(), decision(Fate.BUSY, 17)), reorder_rate=1.0)
    assert [e.leg for e in events] == ["h", "o"]
    assert events[0].at == events[1].at


def test_drop_marks_only_the_callee_final() -> None:
    events = faults(plan(spec(MENU), decision(Fate.LISTENED, 16, digit=3)), drop_final_rate=1.0)
    assert [(e.leg, e.dropped) for e in events] == [
        ("o", False),
        ("transfer_o", False),
        ("transfer_h", False),
        ("h", True),
    ]


def test_duplicates_repeat_each_event_later_with_the_same_fields() -> None:
    events = faults(plan(spec(), decision(Fate.LISTENED, 16)), duplicate_rate=1.0)
    assert [(e.leg, e.duplicate) for e in events] == [
        ("o", False),
        ("o", True),
        ("h", False),
        ("h", True),
    ]
    originals = {e.leg: e for e in events if not e.duplicate}
    for copy in (e for e in events if e.duplicate):
        assert copy.fields == originals[copy.leg].fields
        assert copy.at > originals[copy.leg].at
