"""A campaign's calling policy: its calling window and its redial policy over the service's base.

The API process (settling events in its inbox writer) and the workers (settling lost calls and
retried events) both settle calls, so both build the base policy here, from the same settings:
two copies could drift and settle one call two ways.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Generic, TypeVar

from campaigns.purposes import redial_overrides
from campaigns.tables import Campaign
from campaigns.windows import CallingWindow, next_opening
from dialer.settings import Settings
from dialer.telecom.redial import NextOpening, RedialPolicy

__all__ = ["base_policy", "opening_for", "policy_of", "window_of"]


def base_policy(settings: Settings) -> RedialPolicy:
    """The service-wide redial policy every campaign's overrides apply to: q850.md's table with
    `DIALER_CAUSE_MAP` over it, `DIALER_MIN_LISTEN_SECONDS` and `DIALER_NETWORK_CAP`."""
    causes: dict[int | str, str] = dict(settings.cause_map.items())
    return RedialPolicy(
        min_listen_seconds=settings.min_listen_seconds, network_cap=settings.network_cap
    ).with_causes(causes)


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
    """The service-wide policy with the campaign's attempt cap, delay overrides (over its
    purpose's defaults) and listening threshold: every classification of the campaign's calls
    goes through it, so none uses the service's threshold in place of the campaign's."""
    redial = redial_overrides(campaign.purpose, campaign.redial)
    min_listen = campaign.min_listen_seconds
    return _policy(
        _Same(base),
        campaign.max_attempts,
        json.dumps(redial),
        base.min_listen_seconds if min_listen is None else min_listen,
    )


# Every hangup needs its campaign's window and policy, and thousands of events share a few
# campaigns: each is built once per distinct value, keyed by the JSON column's text (a campaign
# whose columns change gets a new key; an invalid value raises, and is not cached, every time).
@lru_cache(maxsize=256)
def _window(schedule: str, timezone: str) -> CallingWindow:
    return CallingWindow.from_schedule({**json.loads(schedule), "timezone": timezone})


@lru_cache(maxsize=256)
def _policy(
    base: _Same[RedialPolicy], max_attempts: int, redial: str, min_listen_seconds: int
) -> RedialPolicy:
    tuned = replace(base.value, max_attempts=max_attempts, min_listen_seconds=min_listen_seconds)
    return tuned.with_overrides(json.loads(redial))


_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class _Same(Generic[_T]):
    """A cache key that is one object (the service's base policy holds unhashable mappings)."""

    value: _T

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value
