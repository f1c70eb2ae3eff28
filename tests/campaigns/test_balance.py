"""The balance gate: the pure rule, and the Redis hash the poller and its readers share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis

from campaigns.balance import (
    BalanceGate,
    BalanceReading,
    balance_low,
    note_failure,
    read_balance,
    store_balance,
)
from dialer.settings import Settings

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
AGE = timedelta(minutes=10)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("balance", "threshold", "read_at", "closed"),
    [
        (Decimal("0"), Decimal("0"), NOW, True),
        (Decimal("-12.50"), Decimal("0"), NOW, True),
        (Decimal("0.01"), Decimal("0"), NOW, False),
        (Decimal("100"), Decimal("100.00"), NOW, True),
        (Decimal("100.01"), Decimal("100"), NOW, False),
        (Decimal("0"), Decimal("0"), NOW - AGE, True),
        (Decimal("0"), Decimal("0"), NOW - AGE - SECOND, False),
        (Decimal("0"), Decimal("0"), NOW + SECOND, True),
        (None, Decimal("0"), NOW, False),
        (Decimal("0"), Decimal("0"), None, False),
    ],
    ids=[
        "zero at a zero minimum",
        "in debt",
        "a kopeck above",
        "at a minimum of 100",
        "above a minimum of 100",
        "as old as allowed",
        "older than allowed: polls failing never stop dialing",
        "read a moment ahead (clock skew)",
        "never read",
        "no read time",
    ],
)
def test_balance_low(
    balance: Decimal | None, threshold: Decimal, read_at: datetime | None, closed: bool
) -> None:
    assert balance_low(balance, threshold, NOW, read_at, AGE) is closed


@pytest.mark.parametrize(
    ("overrides", "gate"),
    [
        ({}, None),
        ({"mtt_rpc_url": "http://127.0.0.1:9/rpc"}, None),
        ({"mtt_customer_name": "100001"}, None),
        (
            {"mtt_rpc_url": "http://127.0.0.1:9/rpc", "mtt_customer_name": "100001"},
            BalanceGate(Decimal("0"), timedelta(seconds=600)),
        ),
        (
            {
                "mtt_rpc_url": "http://127.0.0.1:9/rpc",
                "mtt_customer_name": "100001",
                "min_balance": "250.5",
                "balance_max_age": 90,
            },
            BalanceGate(Decimal("250.5"), timedelta(seconds=90)),
        ),
    ],
    ids=["nothing set", "no account", "no URL", "defaults", "set"],
)
def test_the_gate_needs_both_the_url_and_the_account(
    overrides: dict[str, Any], gate: BalanceGate | None
) -> None:
    assert BalanceGate.from_settings(Settings(_env_file=None, **overrides)) == gate


async def test_a_failure_keeps_the_figure_and_the_next_success_clears_it(
    redis_client: aioredis.Redis,
) -> None:
    assert await read_balance(redis_client) == BalanceReading()
    await store_balance(redis_client, Decimal("12.34"), NOW)
    await note_failure(redis_client, NOW + AGE)
    assert await read_balance(redis_client) == BalanceReading(Decimal("12.34"), NOW, NOW + AGE)
    await store_balance(redis_client, Decimal("0.00"), NOW + 2 * AGE)
    assert await read_balance(redis_client) == BalanceReading(Decimal("0.00"), NOW + 2 * AGE)
