"""The worker process: arq's Worker under a supervisor that outlives Redis outages.

arq's worker stops for good when Redis goes away mid-poll (ConnectionError out of its loop).
The supervisor closes what that worker opened, waits a moment and starts a fresh one, for as
long as the process is not told to stop; arq's own connect retries cover the wait for Redis to
come back. Any other failure (a bad setting, a bug) ends the process instead.
SIGTERM/SIGINT stop the pacer, let running dial jobs finish (bounded), then exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from dialer.settings import Settings
from workers.arq_worker import Worker
from workers.resources import RESOURCES, WorkerResources
from workers.settings import on_shutdown, worker_settings

__all__ = ["RESTART_DELAY", "run", "serve"]

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
"""Seconds between a worker's failure and its replacement."""
STOP_GRACE_MARGIN = 5.0
"""Seconds on top of one sb-api request that running jobs get to finish when stopping."""


def run(settings: Settings) -> None:
    """The body of `dialer worker` and `python -m workers`."""
    asyncio.run(serve(settings))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run workers one after another until `stop` is set (or a signal sets it)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            await _run_once(settings, stop)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RESTART_DELAY)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def _run_once(settings: Settings, stop: asyncio.Event) -> None:
    worker = Worker(**worker_settings(settings))
    running = asyncio.ensure_future(worker.async_run())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    error = running.exception() if running.done() and not running.cancelled() else None
    await _drain(worker, settings)
    await _close(worker)
    if error is None:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running
    elif isinstance(error, RedisError | OSError):
        log.warning("worker stopped: %r; restarting in %.0f s", error, RESTART_DELAY)
    else:  # a bad setting or a bug: restarting would only repeat it
        raise error


async def _drain(worker: Worker, settings: Settings) -> None:
    """Stop the pacer and taking jobs; give the running ones a bounded time to finish."""
    worker.allow_pick_jobs = False
    resources = worker.ctx.get(RESOURCES)
    if isinstance(resources, WorkerResources):
        for task in resources.tasks:
            task.cancel()
    pending = [task for task in worker.tasks.values() if not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=settings.sb_timeout + STOP_GRACE_MARGIN)


async def _close(worker: Worker) -> None:
    """arq's `close`, minus what fails against a lost Redis: cancel what still runs, close the
    resources, then the pool arq opened (absent when Redis was never reached)."""
    for task in worker.tasks.values():
        task.cancel()
    if worker.main_task is not None:
        worker.main_task.cancel()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    await on_shutdown(worker.ctx)
    pool = worker.ctx.get("redis")
    if isinstance(pool, ArqRedis):
        with contextlib.suppress(RedisError, OSError):
            await pool.delete(worker.health_check_key)
        with contextlib.suppress(RedisError, OSError):
            await pool.aclose()
