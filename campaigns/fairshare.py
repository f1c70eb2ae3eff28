"""Sharing the free call slots between campaigns by priority (docs/design.md §6).

Each round the slots are split in proportion to priority, a campaign that can use fewer than
its share (few free slots of its own, few contacts due) getting what it can use and the rest
going to the others; the fractional shares are rounded by largest remainder. The remainders
carry over between rounds: what a campaign was owed and did not get counts towards its next
remainder, so when a single slot frees at a time it goes round the campaigns by priority
instead of always to the one that wins the tie. A campaign with nothing due drops out and
carries nothing back in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction


@dataclass(frozen=True)
class Demand:
    campaign_id: int
    priority: int
    cap: int
    """Slots it can use this round: its own free concurrency and due contacts, whichever fewer."""


@dataclass
class FairShare:
    """The carried remainders; one instance lives in the pacer while it leads."""

    owed: dict[int, Fraction] = field(default_factory=dict)
    """Per campaign: its shares so far minus the slots it got; stays within ±2."""

    def share(self, slots: int, demands: Iterable[Demand]) -> Mapping[int, int]:
        """Grants per campaign: together min(slots, Σ caps), none above its cap."""
        active = [d for d in demands if d.cap > 0]
        self.owed = {d.campaign_id: self.owed.get(d.campaign_id, Fraction(0)) for d in active}
        if slots <= 0 or not active:
            return {d.campaign_id: 0 for d in active}
        quotas = _quotas(min(slots, sum(d.cap for d in active)), active)
        grants = {key: math.floor(quota) for key, quota in quotas.items()}
        left = sum(quotas.values()) - sum(grants.values())

        def rank(d: Demand) -> tuple[Fraction, int, int]:
            key = d.campaign_id
            return (quotas[key] - grants[key] + self.owed[key], d.priority, -key)

        for d in sorted(active, key=rank, reverse=True)[: int(left)]:
            grants[d.campaign_id] += 1
        for key, quota in quotas.items():
            self.owed[key] += quota - grants[key]
        return grants


def _quotas(slots: int, active: list[Demand]) -> dict[int, Fraction]:
    """Shares by priority; a campaign whose share exceeds its cap gets the cap and the rest is
    shared again among the others (water-filling)."""
    quotas: dict[int, Fraction] = {}
    rest = list(active)
    left = Fraction(slots)
    while rest:
        weight = sum(_weight(d) for d in rest)
        capped = [d for d in rest if left * _weight(d) / weight >= d.cap]
        if not capped:
            quotas.update({d.campaign_id: left * _weight(d) / weight for d in rest})
            break
        for d in capped:
            quotas[d.campaign_id] = Fraction(d.cap)
            left -= d.cap
        rest = [d for d in rest if d.campaign_id not in quotas]
    return quotas


def _weight(demand: Demand) -> int:
    return max(demand.priority, 1)
