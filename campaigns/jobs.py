"""The workers' arq jobs as the rest of the service names them, and the work after a commit.

The API process and the workers both finish calls (webhooks, reconciled and retried events) and
record CRM callbacks; after their commit, each frees the finished calls' concurrency leases and
queues the callbacks' delivery jobs the same way, through `after_commit`. The job functions
themselves live in `workers`; `workers.settings` registers them under these names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

from dialer.telecom.limiters import ConcurrencyLimiter

__all__ = [
    "DELIVER_CALLBACK",
    "DIAL",
    "JobQueue",
    "Lease",
    "after_commit",
    "callback_job_id",
    "dial_job_id",
    "enqueue_callbacks",
]

log = logging.getLogger(__name__)

DIAL: Final = "dial"
"""workers.dial.dial: send one claimed attempt's call request."""
DELIVER_CALLBACK: Final = "deliver_callback"
"""workers.callbacks.deliver_callback: POST one CRM callback."""

Lease = tuple[int, int]
"""A call's concurrency lease: (attempt id, campaign id)."""


class JobQueue(Protocol):
    """What enqueuing needs of arq's `ArqRedis`."""

    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Any: ...


def dial_job_id(attempt_id: int) -> str:
    """arq's job id: at most one live dial job per attempt."""
    return f"dial:{attempt_id}"


def callback_job_id(callback_id: int) -> str:
    """arq's job id: at most one live delivery job per callback."""
    return f"callback:{callback_id}"


async def enqueue_callbacks(queue: JobQueue, callback_ids: Iterable[int]) -> None:
    """One delivery job per callback; a job already queued or running keeps its place."""
    for callback_id in callback_ids:
        await queue.enqueue_job(DELIVER_CALLBACK, callback_id, _job_id=callback_job_id(callback_id))


async def after_commit(
    limiter: ConcurrencyLimiter | None,
    queue: JobQueue | None,
    *,
    leases: Iterable[Lease] = (),
    callbacks: Sequence[int] = (),
) -> None:
    """Free the leases of the calls a commit finished, then queue the callbacks it recorded.

    Never raises: the commit stands, a lease Redis did not drop expires by itself, and the
    workers' callback sweep queues a pending callback whose job is missing."""
    leases = list(leases)
    if limiter is not None and leases:
        await limiter.release_calls(leases)
    if queue is None or not callbacks:
        return
    try:
        await enqueue_callbacks(queue, callbacks)
    except Exception as error:
        log.warning("queueing %d CRM callbacks failed: %r", len(callbacks), error)
