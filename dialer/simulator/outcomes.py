"""What happens to one accepted call, and the events that tell it (pure).

Times are simulated seconds after the request was accepted; the runtime multiplies them by
`time_factor`. Every draw comes from the `random.Random` passed in, seeded per number and
attempt by the caller, so a call's fate does not depend on the order requests arrive in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from dialer.simulator.options import Fate, NumberRule
from dialer.simulator.validation import AcceptedCall, MenuAction
from dialer.simulator.wire import mtt_time

CAUSES: Mapping[Fate, int] = {
    Fate.LISTENED: 16,
    Fate.HUNG_UP: 16,
    Fate.BUSY: 17,
    Fate.NO_ANSWER: 19,
    Fate.UNAVAILABLE: 20,
    Fate.REJECTED: 21,
    Fate.INVALID: 1,
}
NETWORK_CAUSES = (34, 41)
FATE_OF_CAUSE: Mapping[int, Fate] = {
    16: Fate.LISTENED,
    17: Fate.BUSY,
    19: Fate.NO_ANSWER,
    20: Fate.UNAVAILABLE,
    21: Fate.REJECTED,
    1: Fate.INVALID,
    34: Fate.NETWORK,
    41: Fate.NETWORK,
}
ANSWERED = frozenset({Fate.LISTENED, Fate.HUNG_UP})

DIAL_DELAY = (0.5, 2.0)
RING: Mapping[Fate | None, tuple[float, float]] = {
    Fate.LISTENED: (3.0, 20.0),
    Fate.HUNG_UP: (3.0, 20.0),
    Fate.BUSY: (1.0, 6.0),
    Fate.NO_ANSWER: (20.0, 40.0),
    Fate.UNAVAILABLE: (1.0, 5.0),
    Fate.REJECTED: (2.0, 10.0),
    Fate.INVALID: (0.0, 2.0),
    Fate.NETWORK: (0.0, 3.0),
    None: (1.0, 10.0),
}
HANG_UP_MAX = 2
PRESS = (1, 3)
NO_CHOICE_WAIT = 3
GOODBYE = 3  # "Спасибо за Ваш выбор, до свидания!"
TRANSFER_RING = (2.0, 10.0)
TALK = (10, 120)
DUPLICATE_LAG = (0.5, 2.0)

Leg = Literal["o", "h", "n", "transfer_o", "transfer_h"]


def seeded(*parts: object) -> random.Random:
    """A generator seeded by a string, stable across runs and Python versions."""
    return random.Random(":".join(map(str, parts)))  # noqa: S311 - simulation, not security


def tts_seconds(text: str, speed: float, chars_per_second: float) -> int:
    return max(1, math.ceil(len(text) / (chars_per_second * speed)))


@dataclass(frozen=True)
class Decision:
    cause: int
    outcome: Fate | None
    """None for a scripted cause that no outcome names (it ends like an unanswered call)."""
    forced: bool
    digit: int | None
    digit_forced: bool


def decide(
    rule: NumberRule | None,
    attempt: int,
    weights: Mapping[Fate, float],
    press_rate: float,
    menu: tuple[MenuAction, ...],
    rng: random.Random,
) -> Decision:
    """Attempt `attempt` (0-based) of a number: scripted by its rule, else drawn."""
    step = rule.causes[min(attempt, len(rule.causes) - 1)] if rule and rule.causes else None
    outcome: Fate | None
    if step is None:
        outcome = rng.choices(list(weights), weights=list(weights.values()))[0]
        cause = _cause_of(outcome, rng)
    elif isinstance(step, Fate):
        outcome, cause = step, _cause_of(step, rng)
    else:
        outcome, cause = FATE_OF_CAUSE.get(step), step
    digit, digit_forced = None, False
    if outcome is Fate.LISTENED and menu:
        if rule and rule.dtmf is not None:
            digit, digit_forced = (None if rule.dtmf == "none" else rule.dtmf), True
        elif rng.random() < press_rate:
            digit = rng.choice([action.digit for action in menu])
    return Decision(cause, outcome, step is not None, digit, digit_forced)


def _cause_of(outcome: Fate, rng: random.Random) -> int:
    return rng.choice(NETWORK_CAUSES) if outcome is Fate.NETWORK else CAUSES[outcome]


@dataclass(frozen=True)
class PlannedEvent:
    at: float
    """When it is sent; `date_time` inside `fields` is when it happened."""
    leg: Leg
    target: Literal["event", "notify"]
    url: str
    fields: Mapping[str, str]
    dropped: bool = False
    duplicate: bool = False


@dataclass(frozen=True)
class Transfer:
    number: str
    cause: int
    talk: int


@dataclass(frozen=True)
class CallPlan:
    decision: Decision
    tts: int
    duration: int
    """Seconds in the callee's `h` event."""
    action: MenuAction | None
    transfer: Transfer | None
    started_at: float
    ended_at: float
    events: tuple[PlannedEvent, ...]


def build_plan(
    spec: AcceptedCall,
    call_id: str,
    decision: Decision,
    *,
    accepted_at: datetime,
    event_url: str,
    chars_per_second: float,
    rng: random.Random,
) -> CallPlan:
    """The timeline of one call and every event MTT would send about it, in sending order."""
    tts = tts_seconds(spec.text, spec.speed, chars_per_second)
    number = spec.b_number

    def sent(
        at: float,
        leg: Leg,
        name: str,
        tags: Mapping[str, str] | None = None,
        url: str | None = None,
        dated: float | None = None,
    ) -> PlannedEvent:
        when = accepted_at + timedelta(seconds=at if dated is None else dated)
        fields = {"date_time": mtt_time(when), "id": str(spec.mess_id), "CallID": call_id}
        fields |= {**(tags or {}), "event": name}
        return PlannedEvent(at, leg, "event" if url is None else "notify", url or event_url, fields)

    started = rng.uniform(*DIAL_DELAY)
    events = [sent(started, "o", f"o_{number}")]
    ring_end = started + rng.uniform(*RING[decision.outcome])  # answered, or given up
    action = next((a for a in spec.menu if a.digit == decision.digit), None)
    transfer, left_ivr = None, None
    if decision.outcome is Fate.HUNG_UP:
        duration = rng.randint(0, max(0, min(HANG_UP_MAX, tts - 1)))
    elif decision.outcome is not Fate.LISTENED:
        duration = 0
    elif not spec.menu:
        duration = tts
    elif action is None:
        duration = tts + NO_CHOICE_WAIT
    else:
        chosen = ring_end + tts + rng.randint(*PRESS)
        tags = {"dtmf": str(action.digit), "type": action.type}
        if action.type == "notify":
            events.append(sent(chosen, "n", f"n_{number}", tags, url=action.value))
            duration = round(chosen - ring_end) + GOODBYE
        else:
            transfer = Transfer(action.value, 16, rng.randint(*TALK))
            hung_up = chosen + rng.uniform(*TRANSFER_RING) + transfer.talk
            events.append(sent(chosen, "transfer_o", f"o_{action.value}", tags))
            done = f"h_{action.value}_{transfer.cause}_{transfer.talk}"
            events.append(sent(hung_up, "transfer_h", done, tags))
            duration, left_ivr = round(chosen - ring_end) + transfer.talk, chosen
    ended = events[-1].at if transfer else ring_end + duration
    if decision.outcome in ANSWERED and spec.menu and action is None:
        notify = next((a for a in spec.menu if a.type == "notify"), None)
        if notify is not None:
            tags = {"dtmf": "null", "type": "notify"}
            events.append(sent(ended, "n", f"n_{number}", tags, url=notify.value))
    # With a transfer the callee's h comes last but dated earlier, as in the reference's example.
    final = f"h_{number}_{decision.cause}_{duration}"
    events.append(sent(ended, "h", final, dated=left_ivr))
    return CallPlan(decision, tts, duration, action, transfer, started, ended, tuple(events))


def with_faults(
    events: tuple[PlannedEvent, ...],
    *,
    duplicate_rate: float,
    reorder_rate: float,
    drop_final_rate: float,
    rng: random.Random,
) -> tuple[PlannedEvent, ...]:
    """Drops the callee's h, sends it before the o, and doubles events, each at its rate."""
    drop = rng.random() < drop_final_rate
    reorder = rng.random() < reorder_rate
    final = next(e for e in events if e.leg == "h")
    planned = [replace(e, dropped=True) if e is final and drop else e for e in events]
    if reorder:
        originate = planned.pop(0)
        after_final = next(i for i, e in enumerate(planned) if e.leg == "h") + 1
        planned.insert(after_final, replace(originate, at=final.at))
    doubled: list[PlannedEvent] = []
    for event in planned:
        doubled.append(event)
        if not event.dropped and rng.random() < duplicate_rate:
            lag = rng.uniform(*DUPLICATE_LAG)
            doubled.append(replace(event, at=event.at + lag, duplicate=True))
    return tuple(sorted(doubled, key=lambda e: e.at))
