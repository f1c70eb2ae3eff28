"""What a finished or lost call means for its contact: the campaign's policy applied to its history.

Pure: rows in, a `Settlement` out; the caller writes it. `contact.attempts` counts every call the
contact has finished (what a person calls attempts); the policy's `attempts` are the ones that
count against `max_attempts`, i.e. all but the network failures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Generic, TypeVar

from campaigns.purposes import redial_overrides
from campaigns.states import WaitingReason
from campaigns.tables import Campaign, Contact
from campaigns.windows import CallingWindow, next_opening
from dialer.telecom.causes import Category
from dialer.telecom.redial import Final, NextOpening, Redial, RedialPolicy, decide, decide_lost


@dataclass(frozen=True)
class Settlement:
    category: Category
    outcome: str | None
    """The final outcome, or None when the contact is redialed at `next_attempt_at`."""
    next_attempt_at: datetime | None
    attempts: int
    network_attempts: int
    history: str
    last_cause: int | None


def window_of(campaign: Campaign) -> CallingWindow:
    return _window(json.dumps(campaign.window), campaign.timezone)


def opening_for(campaign: Campaign, window: CallingWindow, timezone: str) -> NextOpening:
    """The next moment the contact may be called: inside its window and the campaign's dates."""

    def opening(at: datetime) -> datetime | None:
        return next_opening(
            window, timezone, at, start_at=campaign.start_at, end_at=campaign.end_at
        )

    return opening


def policy_of(campaign: Campaign, base: RedialPolicy) -> RedialPolicy:
    """The service-wide policy with the campaign's attempt cap and delay overrides (over its
    purpose's defaults)."""
    redial = redial_overrides(campaign.purpose, campaign.redial)
    return _policy(_Same(base), campaign.max_attempts, json.dumps(redial))


# Every hangup needs its campaign's window and policy, and thousands of events share a few
# campaigns: each is built once per distinct value, keyed by the JSON column's text (a campaign
# whose columns change gets a new key; an invalid value raises, and is not cached, every time).
@lru_cache(maxsize=256)
def _window(schedule: str, timezone: str) -> CallingWindow:
    return CallingWindow.from_schedule({**json.loads(schedule), "timezone": timezone})


@lru_cache(maxsize=256)
def _policy(base: _Same[RedialPolicy], max_attempts: int, redial: str) -> RedialPolicy:
    return replace(base.value, max_attempts=max_attempts).with_overrides(json.loads(redial))


_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class _Same(Generic[_T]):
    """A cache key that is one object (the service's base policy holds unhashable mappings)."""

    value: _T

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


def history_of(contact: Contact) -> list[Category]:
    return [Category(name) for name in contact.history.split(",") if name]


def settle_finished(
    contact: Contact,
    campaign: Campaign,
    *,
    cause: int,
    duration: int,
    base: RedialPolicy,
    now: datetime,
) -> Settlement:
    policy = policy_of(campaign, base)
    decision = decide(
        cause=cause,
        duration=duration,
        history=history_of(contact),
        attempts=contact.attempts - contact.network_attempts,
        network_attempts=contact.network_attempts,
        policy=policy,
        now=now,
        next_opening=opening_for(campaign, window_of(campaign), contact.timezone),
        previous_cause=contact.last_cause,
    )
    return _settlement(contact, decision, policy, last_cause=cause)


def settle_lost(
    contact: Contact, campaign: Campaign, *, base: RedialPolicy, now: datetime
) -> Settlement:
    """No final event ever came: treated as unanswered, and forgets the previous cause so that
    "18 twice in a row" never spans a lost call."""
    policy = policy_of(campaign, base)
    decision = decide_lost(
        history=history_of(contact),
        attempts=contact.attempts - contact.network_attempts,
        network_attempts=contact.network_attempts,
        policy=policy,
        now=now,
        next_opening=opening_for(campaign, window_of(campaign), contact.timezone),
    )
    return _settlement(contact, decision, policy, last_cause=None)


def _settlement(
    contact: Contact, decision: Final | Redial, policy: RedialPolicy, *, last_cause: int | None
) -> Settlement:
    category = decision.category
    history = f"{contact.history},{category.value}" if contact.history else category.value
    return Settlement(
        category=category,
        outcome=decision.outcome.value if isinstance(decision, Final) else None,
        next_attempt_at=decision.at if isinstance(decision, Redial) else None,
        attempts=contact.attempts + 1,
        network_attempts=contact.network_attempts + (0 if policy.counts(category) else 1),
        history=history,
        last_cause=last_cause,
    )


def write_settlement(contact: Contact, settlement: Settlement, *, now: datetime) -> None:
    contact.attempts = settlement.attempts
    contact.network_attempts = settlement.network_attempts
    contact.history = settlement.history
    contact.last_cause = settlement.last_cause
    contact.last_call_at = now
    if settlement.outcome is None:
        contact.status = "scheduled"
        contact.next_attempt_at = settlement.next_attempt_at
        contact.waiting_reason = WaitingReason.REDIAL_DELAY
    else:
        contact.status = "done"
        contact.outcome = settlement.outcome
        contact.next_attempt_at = None
