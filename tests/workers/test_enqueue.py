"""Jobs queued many at a time look to arq exactly like `enqueue_job`'s, and run."""

from __future__ import annotations

import asyncio
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from arq.worker import func

from workers.arq_worker import Worker
from workers.enqueue import NewJob, enqueue_many


async def test_queued_jobs_carry_their_args_and_deferral(arq_redis: ArqRedis) -> None:
    added = await enqueue_many(
        arq_redis, "dial", [NewJob("dial:1", (1,)), NewJob("dial:2", (2,), defer_by=30)]
    )

    assert added == {"dial:1", "dial:2"}
    first = await Job("dial:1", arq_redis).info()
    later = await Job("dial:2", arq_redis).info()
    assert first is not None
    assert later is not None
    assert (first.function, first.args, later.function, later.args) == ("dial", (1,), "dial", (2,))
    assert later.score is not None
    assert first.score is not None
    assert 29_900 <= later.score - first.score <= 30_100
    assert await Job("dial:2", arq_redis).status() is JobStatus.deferred


async def test_an_id_queued_or_finished_before_is_skipped(arq_redis: ArqRedis) -> None:
    await arq_redis.enqueue_job("dial", 1, _job_id="dial:1")
    await arq_redis.set("arq:result:dial:2", b"done")

    added = await enqueue_many(
        arq_redis, "dial", [NewJob(f"dial:{i}", (i,), defer_by=5) for i in (1, 2, 3)]
    )

    assert added == {"dial:3"}
    kept = await Job("dial:1", arq_redis).info()
    assert kept is not None
    assert kept.score is not None
    assert await Job("dial:1", arq_redis).status() is JobStatus.queued  # not deferred by the retry
    assert await enqueue_many(arq_redis, "dial", []) == set()


async def test_a_worker_runs_them(arq_redis: ArqRedis) -> None:
    ran: list[int] = []

    async def dial(ctx: dict[str, Any], attempt_id: int) -> int:
        ran.append(attempt_id)
        return attempt_id

    await enqueue_many(arq_redis, "dial", [NewJob(f"dial:{i}", (i,)) for i in range(5)])
    worker = Worker(
        functions=[func(dial, name="dial")],
        redis_pool=arq_redis,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
    )
    await asyncio.wait_for(worker.main(), 30)

    assert sorted(ran) == [0, 1, 2, 3, 4]
    assert await Job("dial:3", arq_redis).result(timeout=5) == 3
