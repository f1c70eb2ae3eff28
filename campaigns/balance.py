"""The MTT balance gate: no new calls while the account's money is out (docs/mtt.md).

The workers' balance poller (`workers.balance`) keeps the last getCustomerBalance figure in one
Redis hash shared by every process: the figure, when it was read, and when a poll last failed
(cleared by the next success). The pacer, the API's waiting reasons, the campaign page, the
dashboard and /metrics all read that hash; `balance_low` decides from it.

A failed poll keeps the old figure, so its age shows how stale it is, and a figure older than
the allowed age gates nothing: a poller that cannot reach MTT never stops dialing by itself
(MTT refuses the calls itself once the money is gone).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final, cast

from redis.asyncio import Redis

from dialer.settings import Settings

__all__ = [
    "BALANCE_KEY",
    "BalanceGate",
    "BalanceReading",
    "balance_low",
    "balance_low_now",
    "note_failure",
    "read_balance",
    "store_balance",
]

BALANCE_KEY: Final = "mtt:balance"
_BALANCE: Final = "balance"
_READ_AT: Final = "read_at"
_FAILED_AT: Final = "failed_at"


@dataclass(frozen=True)
class BalanceReading:
    """The last known figure; all None before the first successful poll."""

    balance: Decimal | None = None
    read_at: datetime | None = None
    """UTC: when MTT gave `balance`."""
    failed_at: datetime | None = None
    """UTC: when the last poll failed, if it failed after `read_at`."""


def balance_low(
    balance: Decimal | None,
    threshold: Decimal,
    now: datetime,
    read_at: datetime | None,
    max_age: timedelta,
) -> bool:
    """Whether to stop claiming new calls: the last figure is at or below `threshold` and no
    older than `max_age` (an unknown figure or a stale one gates nothing)."""
    if balance is None or read_at is None or now - read_at > max_age:
        return False
    return balance <= threshold


@dataclass(frozen=True)
class BalanceGate:
    """`balance_low` with the service's settings; None when the poller is not configured."""

    threshold: Decimal
    max_age: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> BalanceGate | None:
        if not settings.mtt_rpc_url or not settings.mtt_customer_name:
            return None
        return cls(settings.min_balance, timedelta(seconds=settings.balance_max_age))

    def closed(self, reading: BalanceReading, now: datetime) -> bool:
        return balance_low(reading.balance, self.threshold, now, reading.read_at, self.max_age)


async def balance_low_now(redis: Redis, settings: Settings, now: datetime) -> bool:
    """Whether the gate is closed at `now`: False without a poller, else one Redis read."""
    gate = BalanceGate.from_settings(settings)
    return gate is not None and gate.closed(await read_balance(redis), now)


async def read_balance(redis: Redis) -> BalanceReading:
    """One HGETALL; fields that do not parse are left out."""
    found = await cast("Awaitable[dict[bytes | str, bytes | str]]", redis.hgetall(BALANCE_KEY))
    fields = {_text(k): _text(v) for k, v in found.items()}
    return BalanceReading(
        balance=_decimal(fields.get(_BALANCE)),
        read_at=_time(fields.get(_READ_AT)),
        failed_at=_time(fields.get(_FAILED_AT)),
    )


async def store_balance(redis: Redis, balance: Decimal, read_at: datetime) -> None:
    """A successful poll: the new figure and its time, no failure after it."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(BALANCE_KEY, mapping={_BALANCE: str(balance), _READ_AT: read_at.isoformat()})
        pipe.hdel(BALANCE_KEY, _FAILED_AT)
        await pipe.execute()


async def note_failure(redis: Redis, failed_at: datetime) -> None:
    """A failed poll: the figure stays as it was, with its own time."""
    await cast("Awaitable[int]", redis.hset(BALANCE_KEY, _FAILED_AT, failed_at.isoformat()))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(text)
    except InvalidOperation:
        return None


def _time(text: str | None) -> datetime | None:
    try:
        return None if text is None else datetime.fromisoformat(text)
    except ValueError:
        return None
