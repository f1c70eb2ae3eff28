"""arq's `enqueue_job` for many jobs in one round trip.

`ArqRedis.enqueue_job` takes four round trips a job (WATCH, EXISTS, MULTI/EXEC) to skip an id
already queued or finished; the pacer enqueuing a tick's dial jobs one by one spent most of the
pacing worker's CPU there at 100 calls/s. A Lua script does the same check and writes for every
job of the tick atomically, with arq's own job encoding, keys and expiry, so arq's workers
cannot tell the jobs from those `enqueue_job` makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

__all__ = ["NewJob", "enqueue_many"]

_ENQUEUE = """
local queue = KEYS[1]
local added = {}
for i = 2, #KEYS, 2 do
  local n = i / 2
  local id, score, expires, payload = ARGV[4*n-3], ARGV[4*n-2], ARGV[4*n-1], ARGV[4*n]
  if redis.call('EXISTS', KEYS[i], KEYS[i + 1]) == 0 then
    redis.call('PSETEX', KEYS[i], expires, payload)
    redis.call('ZADD', queue, score, id)
    added[#added + 1] = id
  end
end
return added
"""


@dataclass(frozen=True)
class NewJob:
    job_id: str
    args: tuple[Any, ...]
    defer_by: float = 0.0
    """Seconds from now before the job may start."""


async def enqueue_many(redis: ArqRedis, function: str, jobs: Sequence[NewJob]) -> set[str]:
    """Queue `function` jobs on the default queue; the ids queued now (an id queued or run
    before is skipped, as `enqueue_job` skips it)."""
    if not jobs:
        return set()
    now = timestamp_ms()
    keys: list[str] = [redis.default_queue_name]
    args: list[Any] = []
    for job in jobs:
        defer_ms = round(job.defer_by * 1000)
        payload = serialize_job(function, job.args, {}, None, now, serializer=redis.job_serializer)
        keys += [job_key_prefix + job.job_id, result_key_prefix + job.job_id]
        args += [job.job_id, now + defer_ms, defer_ms + redis.expires_extra_ms, payload]
    added = await redis.register_script(_ENQUEUE)(keys=keys, args=args)
    return {job_id.decode() for job_id in added}
