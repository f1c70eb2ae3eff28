"""The base redial policy: the settings' cause map, minimum listening time and network cap over
q850.md."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from campaigns.policy import base_policy, policy_of
from dialer.settings import Settings
from dialer.telecom.causes import Category, classify
from dialer.telecom.redial import Final, decide
from tests.factories import T0, make_campaign


@pytest.mark.parametrize(
    ("settings", "cause", "duration", "category"),
    [
        ({}, 16, 3, Category.LISTENED),
        ({}, 16, 2, Category.HUNG_UP),
        ({}, 17, 0, Category.BUSY),
        ({"min_listen_seconds": 10}, 16, 9, Category.HUNG_UP),
        ({"min_listen_seconds": 10}, 16, 10, Category.LISTENED),
        ({"cause_map": {"17": "no_answer"}}, 17, 0, Category.NO_ANSWER),
        ({"cause_map": {"17": "no_answer"}}, 20, 0, Category.UNAVAILABLE),
        ({"cause_map": {"999": "route_error"}}, 999, 0, Category.ROUTE_ERROR),
    ],
)
def test_base_policy_applies_the_settings(
    settings: dict[str, Any], cause: int, duration: int, category: Category
) -> None:
    policy = base_policy(Settings(**settings))
    found = classify(
        cause, duration, min_listen_seconds=policy.min_listen_seconds, mapping=policy.categories
    )
    assert found is category


@pytest.mark.parametrize(
    ("settings", "network_attempts", "final"),
    [
        ({}, 3, False),
        ({}, 4, True),
        ({"network_cap": 2}, 0, False),
        ({"network_cap": 2}, 1, True),
        ({"network_cap": 1}, 0, True),
    ],
)
def test_the_network_cap_setting_reaches_every_campaigns_policy(
    settings: dict[str, Any], network_attempts: int, final: bool
) -> None:
    policy = policy_of(make_campaign(redial={"busy": [60]}), base_policy(Settings(**settings)))
    decision = decide(
        cause=38,
        duration=0,
        history=[Category.NETWORK] * network_attempts,
        attempts=0,
        network_attempts=network_attempts,
        policy=policy,
        now=T0,
        next_opening=lambda at: at,
    )
    assert isinstance(decision, Final) is final


@pytest.mark.parametrize("cap", [0, -1])
def test_a_network_cap_below_one_is_refused(cap: int) -> None:
    with pytest.raises(ValidationError, match="network_cap"):
        Settings(network_cap=cap)
