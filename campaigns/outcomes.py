"""What a finished or lost call means for its contact: the campaign's policy applied to its history.

Pure: rows in, a `Settlement` out; the caller writes it. `contact.attempts` counts every call the
contact has finished (what a person calls attempts); the policy's `attempts` are the ones that
count against `max_attempts`, i.e. all but the network failures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from campaigns.policy import opening_for, policy_of, window_of
from campaigns.states import Outcome
from campaigns.tables import Campaign, Contact
from dialer.telecom.causes import Category
from dialer.telecom.redial import Final, Redial, RedialPolicy, decide, decide_lost


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
    """No final event ever came: redialed as unanswered, and forgets the previous cause so that
    "18 twice in a row" never spans a lost call. When that ends the calling, the outcome is
    `unknown`, not `no_answer`: nobody knows whether the callee answered the last call."""
    policy = policy_of(campaign, base)
    decision = decide_lost(
        history=history_of(contact),
        attempts=contact.attempts - contact.network_attempts,
        network_attempts=contact.network_attempts,
        policy=policy,
        now=now,
        next_opening=opening_for(campaign, window_of(campaign), contact.timezone),
    )
    settlement = _settlement(contact, decision, policy, last_cause=None)
    if settlement.outcome == Outcome.NO_ANSWER:
        return replace(settlement, outcome=Outcome.UNKNOWN)
    return settlement


def _settlement(
    contact: Contact, decision: Final | Redial, policy: RedialPolicy, *, last_cause: int | None
) -> Settlement:
    category = decision.category
    history = f"{contact.history},{category.value}" if contact.history else category.value
    return Settlement(
        category=category,
        outcome=decision.ending.value if isinstance(decision, Final) else None,
        next_attempt_at=decision.at if isinstance(decision, Redial) else None,
        attempts=contact.attempts + 1,
        network_attempts=contact.network_attempts + (0 if policy.counts(category) else 1),
        history=history,
        last_cause=last_cause,
    )
