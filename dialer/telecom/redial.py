"""The redial policy and the pure decision after each finished call (docs/causes.md).

Rules of the decision, in order:

- The call's category comes from the cause table (`policy.categories`); a cause from
  `policy.repeat_invalid_causes` seen on two consecutive finished attempts is `invalid_number`.
- The n-th call ending in a category (n counts this one; earlier ones come from `history`) is
  redialed after `delays[n-1]` of that category; once past the list the outcome is final.
  An empty list (listened, invalid_number, route_error) means never redial.
- Categories that count against `max_attempts`: `attempts` is the number of counting attempts
  finished *before* this one, so this call is number `attempts + 1`; when that reaches
  `max_attempts` the outcome is final.
- Categories that do not count (network): capped by `network_cap` over `network_attempts`
  (again those before this one); their last delay repeats, as a backoff does, until the cap.
- The redial time is pushed to the next opening of the contact's calling window; when the
  window never opens again the outcome is `expired`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from dialer.telecom.causes import DEFAULT_CATEGORIES, Category, classify

MAX_DELAY_SECONDS = 366 * 24 * 3600
BAD_DELAY = (
    "redial.{category}[{index}]: a delay is whole seconds from 0 to {max_seconds}, got {seconds}"
)
"""A refused delay (the console recognises it by this template and words it in minutes)."""
_MINUTE = 60
_HOUR = 3600
_DAY = 24 * _HOUR


class Ending(StrEnum):
    """How the redial policy ends a contact's calling: its last call's category, or `expired`
    when the calling window never opens again. The campaign's contact outcomes
    (campaigns.states.Outcome) hold these and the call path's own."""

    LISTENED = "listened"
    HUNG_UP = "hung_up"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    ROUTE_ERROR = "route_error"
    NETWORK_ERROR = "network_error"
    EXPIRED = "expired"


ENDING_OF: Mapping[Category, Ending] = MappingProxyType(
    {
        category: Ending.NETWORK_ERROR if category is Category.NETWORK else Ending(category.value)
        for category in Category
    }
)


@dataclass(frozen=True)
class CategoryRule:
    delays: tuple[int, ...] = ()
    counts: bool = True


DEFAULT_RULES: Mapping[Category, CategoryRule] = MappingProxyType(
    {
        Category.LISTENED: CategoryRule(),
        Category.HUNG_UP: CategoryRule((3 * _HOUR,)),
        Category.BUSY: CategoryRule((15 * _MINUTE, 60 * _MINUTE)),
        Category.NO_ANSWER: CategoryRule((2 * _HOUR, _DAY)),
        Category.UNAVAILABLE: CategoryRule((3 * _HOUR, _DAY)),
        Category.NETWORK: CategoryRule((5 * _MINUTE, 15 * _MINUTE, 60 * _MINUTE), counts=False),
        Category.INVALID_NUMBER: CategoryRule(),
        Category.ROUTE_ERROR: CategoryRule(),
        Category.REJECTED: CategoryRule((_DAY,)),
    }
)


def _delays(key: str, value: object) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValueError(f"redial.{key}: expected a list of delays in seconds, got {value!r}")
    for index, delay in enumerate(value):
        if (
            isinstance(delay, bool)
            or not isinstance(delay, int)
            or not 0 <= delay <= MAX_DELAY_SECONDS
        ):
            raise ValueError(
                BAD_DELAY.format(
                    category=key, index=index, max_seconds=MAX_DELAY_SECONDS, seconds=repr(delay)
                )
            )
    return tuple(value)


def _category(where: str, value: object) -> Category:
    try:
        return Category(str(value))
    except ValueError:
        names = ", ".join(category.value for category in Category)
        raise ValueError(f"{where}: unknown category {value!r}; one of {names}") from None


def _cause_number(key: object) -> int:
    number = key if isinstance(key, int) and not isinstance(key, bool) else None
    if isinstance(key, str) and key.strip().isdigit():
        number = int(key)
    if number is None or number < 0:
        raise ValueError(f"causes: {key!r} is not a cause number")
    return number


@dataclass(frozen=True)
class RedialPolicy:
    """Everything a campaign may tune about redialing; defaults are q850.md's table."""

    rules: Mapping[Category, CategoryRule] = field(default_factory=lambda: DEFAULT_RULES)
    categories: Mapping[int, Category] = field(default_factory=lambda: DEFAULT_CATEGORIES)
    max_attempts: int = 3
    network_cap: int = 5
    min_listen_seconds: int = 3
    repeat_invalid_causes: frozenset[int] = frozenset({18})

    def __post_init__(self) -> None:
        missing = [category.value for category in Category if category not in self.rules]
        if missing:
            raise ValueError(f"rules: no rule for {', '.join(missing)}")
        for name in ("max_attempts", "network_cap"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.min_listen_seconds < 0:
            raise ValueError(f"min_listen_seconds: must be ≥ 0, got {self.min_listen_seconds}")

    def counts(self, category: Category) -> bool:
        """Whether a call in this category uses up one of the contact's `max_attempts`."""
        return self.rules[category].counts

    def with_overrides(self, mapping: Mapping[str, Sequence[int]]) -> RedialPolicy:
        """Apply the campaign body's `redial` object; categories left out keep their delays."""
        rules = dict(self.rules)
        for key, value in mapping.items():
            category = _category(f"redial.{key}", key)
            if category is Category.LISTENED:
                raise ValueError("redial.listened: a listened call is final and never redialed")
            rules[category] = replace(rules[category], delays=_delays(key, value))
        return replace(self, rules=MappingProxyType(rules))

    def with_causes(self, mapping: Mapping[int | str, str]) -> RedialPolicy:
        """Re-map causes to categories (`{"18": "invalid_number"}`); other causes keep theirs."""
        categories = dict(self.categories)
        for key, value in mapping.items():
            number = _cause_number(key)
            categories[number] = _category(f"causes.{key}", value)
        return replace(self, categories=MappingProxyType(categories))


@dataclass(frozen=True)
class Final:
    ending: Ending
    category: Category


@dataclass(frozen=True)
class Redial:
    at: datetime
    category: Category
    counts: bool


NextOpening = Callable[[datetime], datetime | None]


def decide(
    *,
    cause: int,
    duration: int,
    history: Sequence[Category],
    attempts: int,
    network_attempts: int,
    policy: RedialPolicy,
    now: datetime,
    next_opening: NextOpening,
    previous_cause: int | None = None,
) -> Final | Redial:
    """What follows a finished call.

    `history` holds the categories of the contact's earlier finished attempts, oldest first;
    `previous_cause` is the cause of the attempt just before this one (None when it had none).
    `next_opening(t)` is the first moment ≥ t in the contact's calling window, None past the end.
    """
    category = classify(
        cause, duration, min_listen_seconds=policy.min_listen_seconds, mapping=policy.categories
    )
    if cause in policy.repeat_invalid_causes and previous_cause == cause:
        category = Category.INVALID_NUMBER
    return _follow(category, history, attempts, network_attempts, policy, now, next_opening)


def decide_lost(
    *,
    history: Sequence[Category],
    attempts: int,
    network_attempts: int,
    policy: RedialPolicy,
    now: datetime,
    next_opening: NextOpening,
) -> Final | Redial:
    """A call that never reported its end is treated as unanswered (docs/design.md §5.5)."""
    return _follow(
        Category.NO_ANSWER, history, attempts, network_attempts, policy, now, next_opening
    )


def _follow(
    category: Category,
    history: Sequence[Category],
    attempts: int,
    network_attempts: int,
    policy: RedialPolicy,
    now: datetime,
    next_opening: NextOpening,
) -> Final | Redial:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    if attempts < 0 or network_attempts < 0:
        raise ValueError(
            f"attempts and network_attempts must be ≥ 0, got {attempts}, {network_attempts}"
        )
    final = Final(ENDING_OF[category], category)
    rule = policy.rules[category]
    earlier = sum(1 for previous in history if previous == category)
    if not rule.delays:
        return final
    if rule.counts:
        if earlier >= len(rule.delays) or attempts + 1 >= policy.max_attempts:
            return final
        delay = rule.delays[earlier]
    else:
        if network_attempts + 1 >= policy.network_cap:
            return final
        delay = rule.delays[min(earlier, len(rule.delays) - 1)]
    at = next_opening(now + timedelta(seconds=delay))
    if at is None:
        return Final(Ending.EXPIRED, category)
    return Redial(at, category, rule.counts)
