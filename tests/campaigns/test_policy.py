"""The base redial policy: the settings' cause map and minimum listening time over q850.md."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.policy import base_policy
from dialer.settings import Settings
from dialer.telecom.causes import Category, classify


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
