"""The network-spike rule: which finished calls count, and where the thresholds lie."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from campaigns.spikes import Finished, Spike, SpikeRule, network_spike, summary_of
from dialer.settings import Settings
from dialer.telecom.causes import DEFAULT_CATEGORIES, Category
from tests.factories import T0

NOW = T0 + timedelta(hours=1)
RULE = SpikeRule(window=timedelta(seconds=300), min_calls=20, share=0.5)
STARTED = T0
NO_ANSWER = 19


def calls(count: int, cause: int | None, *, ago: float = 10) -> list[Finished]:
    return [Finished(NOW - timedelta(seconds=ago), cause) for _ in range(count)]


def moved(**causes: str) -> Mapping[int, Category]:
    """The default cause table with `DIALER_CAUSE_MAP`-style changes ("c38": "busy")."""
    return {**DEFAULT_CATEGORIES, **{int(k[1:]): Category(v) for k, v in causes.items()}}


@pytest.mark.parametrize(
    ("finished", "categories", "running_since", "expected"),
    [
        pytest.param([], DEFAULT_CATEGORIES, STARTED, None, id="nothing finished"),
        pytest.param(calls(19, 38), DEFAULT_CATEGORIES, STARTED, None, id="19 calls are too few"),
        pytest.param(
            calls(20, 38),
            DEFAULT_CATEGORIES,
            STARTED,
            Spike(20, 20, ((38, 20),)),
            id="20 calls, all network",
        ),
        pytest.param(
            calls(10, 41) + calls(10, 16),
            DEFAULT_CATEGORIES,
            STARTED,
            Spike(10, 20, ((41, 10),)),
            id="share exactly at the threshold",
        ),
        pytest.param(
            calls(9, 41) + calls(11, 16),
            DEFAULT_CATEGORIES,
            STARTED,
            None,
            id="share just under the threshold",
        ),
        pytest.param(
            calls(10, 38) + calls(11, NO_ANSWER),
            DEFAULT_CATEGORIES,
            STARTED,
            None,
            id="10 of 21 is under half",
        ),
        pytest.param(
            calls(19, 38) + calls(1, 38, ago=301),
            DEFAULT_CATEGORIES,
            STARTED,
            None,
            id="a call older than the window does not count",
        ),
        pytest.param(
            calls(19, 38) + calls(1, 38, ago=300),
            DEFAULT_CATEGORIES,
            STARTED,
            Spike(20, 20, ((38, 20),)),
            id="a call at the window's edge counts",
        ),
        pytest.param(
            calls(19, 38) + calls(1, 38, ago=-1),
            DEFAULT_CATEGORIES,
            STARTED,
            None,
            id="a call after now does not count",
        ),
        pytest.param(
            calls(20, 38, ago=60),
            DEFAULT_CATEGORIES,
            NOW - timedelta(seconds=30),
            None,
            id="calls finished before the resume do not count",
        ),
        pytest.param(
            calls(10, 38, ago=60) + calls(20, 38, ago=20),
            DEFAULT_CATEGORIES,
            NOW - timedelta(seconds=30),
            Spike(20, 20, ((38, 20),)),
            id="calls finished after the resume do",
        ),
        pytest.param(
            calls(20, 17) + calls(5, 20) + calls(5, 21) + calls(5, None),
            DEFAULT_CATEGORIES,
            STARTED,
            None,
            id="busy, unavailable, rejected and lost calls are not network",
        ),
        pytest.param(
            calls(9, 38) + calls(5, 41) + calls(3, 34) + calls(2, 42) + calls(1, 16),
            DEFAULT_CATEGORIES,
            STARTED,
            Spike(19, 20, ((38, 9), (41, 5), (34, 3))),
            id="the three commonest causes are named",
        ),
        pytest.param(
            calls(20, 38),
            moved(c38="unavailable"),
            STARTED,
            None,
            id="the cause map moves 38 out of network",
        ),
        pytest.param(
            calls(20, 127),
            moved(c127="network"),
            STARTED,
            Spike(20, 20, ((127, 20),)),
            id="the cause map moves 127 into network",
        ),
    ],
)
def test_network_spike(
    finished: list[Finished],
    categories: Mapping[int, Category],
    running_since: datetime,
    expected: Spike | None,
) -> None:
    found = network_spike(
        finished, categories=categories, rule=RULE, running_since=running_since, now=NOW
    )
    assert found == expected


@pytest.mark.parametrize(
    ("rule", "network", "others", "spike"),
    [
        (SpikeRule(timedelta(seconds=300), min_calls=1, share=1.0), 1, 0, True),
        (SpikeRule(timedelta(seconds=300), min_calls=10, share=0.3), 3, 7, True),
        (SpikeRule(timedelta(seconds=300), min_calls=10, share=0.3), 2, 8, False),
        (SpikeRule(timedelta(seconds=300), min_calls=10, share=1.0), 9, 1, False),
    ],
)
def test_the_rule_is_the_settings(rule: SpikeRule, network: int, others: int, spike: bool) -> None:
    finished = calls(network, 38) + calls(others, 16)
    found = network_spike(
        finished, categories=DEFAULT_CATEGORIES, rule=rule, running_since=STARTED, now=NOW
    )
    assert (found is not None) is spike


def test_the_rule_comes_from_the_settings() -> None:
    assert SpikeRule.of(Settings()) == RULE
    custom = Settings(network_spike_window=60, network_spike_min_calls=5, network_spike_share=0.8)
    assert SpikeRule.of(custom) == SpikeRule(timedelta(seconds=60), min_calls=5, share=0.8)


@pytest.mark.parametrize(
    "field",
    [
        {"network_spike_window": 0},
        {"network_spike_min_calls": 0},
        {"network_spike_share": 0},
        {"network_spike_share": 1.01},
    ],
)
def test_a_rule_that_cannot_work_is_refused(field: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=next(iter(field))):
        Settings(**field)


def test_the_reason_names_counts_and_causes_and_reads_back() -> None:
    spike = Spike(14, 20, ((38, 9), (41, 5)))
    assert spike.reason == (
        "network failures: 14 of the last 20 calls (38 ×9, 41 ×5); check MTT's route, then resume"
    )
    assert summary_of(spike.reason) == "14 of 20 calls, causes 38 ×9, 41 ×5"
    assert summary_of("sb-api refused the account: 403") is None
    assert summary_of(None) is None
