"""arq's Worker, minus its per-poll cost for every job already running.

A job stays in arq's queue while it runs, so every poll of every worker reads it again and
checks it with four round trips (WATCH, EXISTS, ZSCORE, UNWATCH) before finding it taken. At 100
calls/s the dial jobs running at any moment made that 400 Redis commands per call, most of the
workers' CPU. Here a poll first drops the jobs this worker runs itself and those it found
running elsewhere less than `RECHECK_SECONDS` ago, then asks about the rest in one pipelined
round trip. arq's own transactional check still decides for the jobs left, so no job can start
twice; a job whose worker died is taken up once its in-progress key expires, as with arq.
"""

from __future__ import annotations

import time
from typing import Any

import arq.worker
from arq.constants import in_progress_key_prefix

__all__ = ["RECHECK_SECONDS", "Worker"]

RECHECK_SECONDS = 1.0
"""How long a job seen running in another worker is not asked about again: arq keeps a dead
worker's job marked in progress for its whole timeout anyway."""


class Worker(arq.worker.Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._elsewhere: dict[bytes, float] = {}
        """Job ids seen running in another worker, with when to ask about them again."""

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        now = time.monotonic()
        queued = set(job_ids)
        self._elsewhere = {j: t for j, t in self._elsewhere.items() if j in queued and t > now}
        candidates = [
            job_id
            for job_id in job_ids
            if job_id not in self._elsewhere and job_id.decode() not in self.tasks
        ]
        if not candidates:
            return
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in candidates:
                pipe.exists(in_progress_key_prefix + job_id.decode())
            running = await pipe.execute()
        free = []
        for job_id, taken in zip(candidates, running, strict=True):
            if taken:
                self._elsewhere[job_id] = now + RECHECK_SECONDS
            else:
                free.append(job_id)
        await super().start_jobs(free)
