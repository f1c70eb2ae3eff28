"""The balance poller (docs/mtt.md): reads MTT's getCustomerBalance into Redis for the pacer.

Every worker process runs the loop, but a poll first takes a Redis lock that lapses a little
before the next interval, so the service asks MTT about once per interval whatever the number
of workers. A failed poll is logged (the client's messages are already free of credentials)
and noted beside the old figure, which stays: the figure's age then shows, and once it is older
than DIALER_BALANCE_MAX_AGE it no longer gates dialing (campaigns.balance).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from redis.asyncio import Redis

from campaigns.balance import note_failure, read_balance, store_balance
from dialer.telecom.mtt_rpc import Balance, MttRpcClient, MttRpcError

__all__ = ["LOCK_KEY", "BalancePoller"]

log = logging.getLogger(__name__)

LOCK_KEY: Final = "mtt:balance:poll"
LOCK_SHARE: Final = 0.9
"""The poll lock lives this share of the interval, so the next loop round finds it lapsed."""


@dataclass
class BalancePoller:
    redis: Redis
    rpc: MttRpcClient
    customer_name: str
    interval: float

    async def run(self, clock: Callable[[], datetime]) -> None:
        """Poll when this process holds the turn, once per interval, until cancelled."""
        while True:
            try:
                if await self._my_turn():
                    await self.poll(clock())
            except Exception as error:  # Redis gone: the next round tries again
                log.warning("balance poll failed: %r", error)
            await asyncio.sleep(self.interval)

    async def poll(self, now: datetime) -> Balance | None:
        """Ask MTT once and store the answer; None (and the failure noted) when it fails."""
        try:
            found = await self.rpc.get_balance(self.customer_name)
        except MttRpcError as error:
            last = await read_balance(self.redis)
            age = (
                "never read"
                if last.read_at is None
                else f"{(now - last.read_at).total_seconds():.0f} s old"
            )
            log.warning(
                "getCustomerBalance failed, keeping the balance read at %s (%s, %s): %s",
                last.read_at.isoformat() if last.read_at else "never",
                last.balance,
                age,
                error,
            )
            await note_failure(self.redis, now)
            return None
        await store_balance(self.redis, found.balance, now)
        return found

    async def _my_turn(self) -> bool:
        ms = max(1, round(self.interval * LOCK_SHARE * 1000))
        return bool(await self.redis.set(LOCK_KEY, "1", nx=True, px=ms))
