"""arq's worker settings: the jobs, the sweep crons, and the process's resources.

`on_startup` builds the resources once per worker (database engine, HTTP client, sb-api and
MTT JSON-RPC clients, limiters, the base redial policy) and starts the pacer loop and, when
MTT's account API is configured, the balance poller;
`on_shutdown` stops the loop and closes them. The `Settings` come in through arq's ctx
(`worker_settings` puts them there); nothing here reads the environment.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

from campaigns.jobs import DELIVER_CALLBACK, DIAL
from dialer.settings import Settings
from dialer.telecom.sbapi import SEND_ATTEMPTS
from workers.balance import BalancePoller
from workers.callbacks import ARQ_MAX_TRIES, deliver_callback, sweep_callbacks
from workers.dial import dial
from workers.pace import Pacer
from workers.resources import RESOURCES, close_resources, open_resources
from workers.sweep import retry_events, sweep

__all__ = [
    "CALLBACK_SWEEP_SECONDS",
    "SETTINGS",
    "SWEEP_SECONDS",
    "WorkerSettings",
    "on_shutdown",
    "on_startup",
    "worker_settings",
]

log = logging.getLogger(__name__)

SETTINGS = "settings"
"""The key of the `Settings` in arq's ctx."""
SWEEP_SECONDS = frozenset(range(0, 60, 5))
"""Seconds of each minute the sweep runs at."""
CALLBACK_SWEEP_SECONDS = frozenset(range(2, 60, 10))
"""Seconds of each minute the CRM callback sweep runs at."""
DIAL_TIMEOUT_MARGIN = 30.0
"""Seconds a dial job gets on top of its sb-api tries: CPS wait, retry backoff, the database."""


async def on_startup(ctx: dict[str, Any]) -> None:
    settings = ctx.get(SETTINGS)
    if not isinstance(settings, Settings):
        raise RuntimeError("the worker needs its Settings in ctx (use worker_settings)")
    resources = await open_resources(settings, ctx["redis"])
    ctx[RESOURCES] = resources
    resources.tasks.append(asyncio.create_task(Pacer(resources).run(), name="pacer"))
    if resources.rpc is not None and settings.mtt_customer_name:
        poller = BalancePoller(
            resources.redis,
            resources.rpc,
            settings.mtt_customer_name,
            settings.balance_poll_interval,
        )
        resources.tasks.append(asyncio.create_task(poller.run(resources.clock), name="balance"))
    log.info(
        "worker started: %r, cps %s, max concurrent %d",
        resources.sbapi,
        settings.cps,
        settings.max_concurrent,
    )


async def on_shutdown(ctx: dict[str, Any]) -> None:
    """Safe to run twice (the supervisor runs it again when arq's close failed midway)."""
    resources = ctx.pop(RESOURCES, None)
    if resources is not None:
        await close_resources(resources)


class WorkerSettings:
    """Class-level settings arq reads; `worker_settings` adds the per-deployment ones."""

    functions = (
        func(dial, name=DIAL, max_tries=3),
        func(deliver_callback, name=DELIVER_CALLBACK, max_tries=ARQ_MAX_TRIES),
    )
    cron_jobs = (
        cron(sweep, name="sweep", second=set(SWEEP_SECONDS), keep_result=60, timeout=120),
        cron(retry_events, name="retry_events", second={30}, keep_result=60, timeout=120),
        cron(
            sweep_callbacks,
            name="sweep_callbacks",
            second=set(CALLBACK_SWEEP_SECONDS),
            keep_result=60,
            timeout=120,
        ),
    )
    on_startup = on_startup
    on_shutdown = on_shutdown
    keep_result = 300
    poll_delay = 0.1
    handle_signals = False


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Everything arq's `Worker` takes, for this deployment."""
    values = {key: value for key, value in vars(WorkerSettings).items() if not key.startswith("__")}
    return values | {
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "ctx": {SETTINGS: settings},
        "max_jobs": max(20, math.ceil(settings.cps * 3) + 10),
        "job_timeout": settings.sb_timeout * SEND_ATTEMPTS + DIAL_TIMEOUT_MARGIN,
    }
