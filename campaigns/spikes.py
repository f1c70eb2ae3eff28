"""A spike of network failures: when MTT's route breaks, most calls end in a `network` cause.

Redialing network failures (docs/causes.md) is right for one failed call and wrong for a broken
route: every contact would burn its network attempts through the outage. So a campaign whose
recently finished calls are mostly network failures is paused by the service until a person has
checked the route and resumes it.

`network_spike` is pure: the finished calls, the cause table and `now` in, a `Spike` or None out.
Only calls finished since the campaign last started running (its start or resume) count, so a
resume is never undone by the very calls that caused the pause.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from dialer.settings import Settings
from dialer.telecom.causes import Category

__all__ = [
    "REASON",
    "REASON_PREFIX",
    "SUMMARY",
    "Finished",
    "Spike",
    "SpikeRule",
    "network_spike",
    "summary_of",
]

REASON_PREFIX: Final = "network failures"
"""How the campaign's `status_reason` begins when a spike paused it (`campaigns.idle` reads it)."""
REASON: Final = (
    REASON_PREFIX
    + ": {network} of the last {calls} calls ({causes}); check MTT's route, then resume"
)
"""The whole `status_reason`, in English as every API text is (the console words it)."""
SUMMARY: Final = "{network} of {calls} calls, causes {causes}"
"""The counts and causes of a spike's reason, for the page that words the rest."""
SHOWN_CAUSES: Final = 3
"""The commonest causes a reason names."""
_REASON = re.compile(rf"^{REASON_PREFIX}: (\d+) of the last (\d+) calls \(([^)]*)\)")


@dataclass(frozen=True)
class SpikeRule:
    window: timedelta
    min_calls: int
    share: float

    @classmethod
    def of(cls, settings: Settings) -> SpikeRule:
        return cls(
            window=timedelta(seconds=settings.network_spike_window),
            min_calls=settings.network_spike_min_calls,
            share=settings.network_spike_share,
        )


@dataclass(frozen=True)
class Finished:
    """One finished call of the campaign; `cause` is None for a call that ended without one."""

    at: datetime
    cause: int | None


@dataclass(frozen=True)
class Spike:
    network: int
    calls: int
    causes: tuple[tuple[int, int], ...]
    """(cause, calls) of the network failures, commonest first."""

    @property
    def reason(self) -> str:
        """The campaign's `status_reason`."""
        return REASON.format(network=self.network, calls=self.calls, causes=_causes(self.causes))


def network_spike(
    finished: Iterable[Finished],
    *,
    categories: Mapping[int, Category],
    rule: SpikeRule,
    running_since: datetime,
    now: datetime,
) -> Spike | None:
    """The spike among the calls finished in the window before `now` (and not before
    `running_since`), None when there are too few calls or too few network failures.

    `categories` is the service's cause table (`RedialPolicy.categories`, `DIALER_CAUSE_MAP`
    applied), so a cause the map moves into or out of `network` counts accordingly.
    """
    since = max(now - rule.window, running_since)
    recent = [call.cause for call in finished if since <= call.at <= now]
    network = Counter(
        cause for cause in recent if cause is not None and categories.get(cause) is Category.NETWORK
    )
    failed = sum(network.values())
    if len(recent) < rule.min_calls or failed / len(recent) < rule.share:
        return None
    commonest = sorted(network.items(), key=lambda item: (-item[1], item[0]))
    return Spike(failed, len(recent), tuple(commonest[:SHOWN_CAUSES]))


def summary_of(reason: str | None) -> str | None:
    """The counts and causes of a spike's reason ("14 of 20 calls, causes 38 ×9, 41 ×5") for
    the console, which words the rest; None when the reason is not a spike's."""
    match = _REASON.match(reason or "")
    if match is None:
        return None
    network, calls, causes = match.groups()
    return SUMMARY.format(network=network, calls=calls, causes=causes)


def _causes(causes: Iterable[tuple[int, int]]) -> str:
    return ", ".join(f"{cause} ×{calls}" for cause, calls in causes)
