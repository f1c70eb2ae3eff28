from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.fairshare import Demand, FairShare


def demand(campaign_id: int, priority: int = 1, cap: int = 100) -> Demand:
    return Demand(campaign_id, priority, cap)


@pytest.mark.parametrize(
    ("slots", "demands", "expected"),
    [
        (4, [demand(1, 3), demand(2, 1)], {1: 3, 2: 1}),
        (6, [demand(1), demand(2), demand(3)], {1: 2, 2: 2, 3: 2}),
        (10, [demand(1, 1, cap=2), demand(2, 1)], {1: 2, 2: 8}),
        (10, [demand(1, 3, cap=1), demand(2, 1, cap=4)], {1: 1, 2: 4}),
        (5, [demand(1, 2), demand(2, 1, cap=0)], {1: 5}),
        (0, [demand(1), demand(2)], {1: 0, 2: 0}),
        (3, [], {}),
        (7, [demand(1, 2), demand(2, 1)], {1: 5, 2: 2}),  # 4.67 / 2.33: largest remainder
    ],
)
def test_one_round_is_the_weighted_share(
    slots: int, demands: list[Demand], expected: dict[int, int]
) -> None:
    assert dict(FairShare().share(slots, demands)) == expected


def test_a_lone_free_slot_goes_round_the_campaigns() -> None:
    fair = FairShare()
    winners = [
        next(cid for cid, n in fair.share(1, [demand(1), demand(2), demand(3)]).items() if n)
        for _ in range(6)
    ]
    assert winners == [1, 2, 3, 1, 2, 3]


def test_priorities_hold_across_rounds_of_one_slot() -> None:
    fair = FairShare()
    total: Counter[int] = Counter()
    for _ in range(40):
        total.update(fair.share(1, [demand(1, 3), demand(2, 1)]))
    assert total == Counter({1: 30, 2: 10})


def test_a_campaign_back_from_idle_gets_no_burst() -> None:
    fair = FairShare()
    for _ in range(10):
        fair.share(2, [demand(1), demand(2, cap=0)])
    assert dict(fair.share(4, [demand(1), demand(2)])) == {1: 2, 2: 2}


@given(
    slots=st.integers(0, 60),
    specs=st.lists(st.tuples(st.integers(1, 5), st.integers(0, 30)), max_size=6),
    rounds=st.integers(1, 12),
)
def test_grants_are_exact_and_within_caps(
    slots: int, specs: list[tuple[int, int]], rounds: int
) -> None:
    fair = FairShare()
    demands = [Demand(i, priority, cap) for i, (priority, cap) in enumerate(specs)]
    for _ in range(rounds):
        grants = fair.share(slots, demands)
        assert sum(grants.values()) == min(slots, sum(d.cap for d in demands))
        assert all(0 <= grants.get(d.campaign_id, 0) <= d.cap for d in demands)
        assert all(-2 < owed < 2 for owed in fair.owed.values())  # no one falls behind


@given(
    slots=st.integers(1, 60),
    priorities=st.lists(st.integers(1, 5), min_size=1, max_size=5),
)
def test_uncapped_shares_are_within_one_of_proportional(slots: int, priorities: list[int]) -> None:
    grants = FairShare().share(slots, [demand(i, p, cap=1000) for i, p in enumerate(priorities)])
    total = sum(priorities)
    for i, priority in enumerate(priorities):
        assert abs(grants[i] - slots * priority / total) < 1
