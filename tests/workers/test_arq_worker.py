"""The poll that skips running jobs in one round trip: checked by counting Redis commands."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from arq.worker import func

from workers import arq_worker
from workers.arq_worker import Worker

JOBS = 4
POLL = 0.01


async def commands(redis: aioredis.Redis) -> Counter[str]:
    stats = await redis.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()})


class Blocking:
    """Holds every job until released; counts the starts, and says when `expected` began."""

    def __init__(self, expected: int) -> None:
        self.release = asyncio.Event()
        self.all_started = asyncio.Event()
        self.started: Counter[str] = Counter()
        self._expected = expected

    async def job(self, ctx: dict[str, Any], name: str) -> str:
        self.started[name] += 1
        if self.started.total() >= self._expected:
            self.all_started.set()
        await self.release.wait()
        return name


def make_worker(pool: ArqRedis, job: Blocking) -> Worker:
    return Worker(
        functions=[func(job.job, name="hold")],
        redis_pool=pool,
        poll_delay=POLL,
        handle_signals=False,
        max_jobs=JOBS * 2,
    )


@pytest.mark.parametrize("workers", [1, 3])
async def test_running_jobs_cost_no_transactional_check_per_poll(
    arq_redis: ArqRedis, redis_client: aioredis.Redis, workers: int
) -> None:
    job = Blocking(JOBS)
    pool = [make_worker(arq_redis, job) for _ in range(workers)]
    queued = [
        await arq_redis.enqueue_job("hold", f"job{index}", _job_id=f"job{index}")
        for index in range(JOBS)
    ]
    mains = [asyncio.create_task(worker.main()) for worker in pool]
    try:
        await asyncio.wait_for(job.all_started.wait(), 10)
        before = await commands(redis_client)
        await asyncio.sleep(POLL * 30)  # every worker polls many times over the running jobs
        after = await commands(redis_client)
        job.release.set()
        for handle in queued:
            assert handle is not None
            await handle.result(timeout=10, poll_delay=POLL)
    finally:
        for task in mains:
            task.cancel()
        await asyncio.gather(*mains, return_exceptions=True)

    polls = after["zrangebyscore"] - before["zrangebyscore"]
    assert polls >= workers * 5
    assert after["watch"] == before["watch"]  # arq's four round trips per job and poll: none
    # each job running elsewhere is asked about once per RECHECK_SECONDS, not once a poll
    assert after["exists"] - before["exists"] <= (workers - 1) * JOBS
    assert job.started == Counter({f"job{index}": 1 for index in range(JOBS)})


async def test_a_job_another_worker_runs_is_left_to_it_until_its_mark_lapses(
    arq_redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arq_worker, "RECHECK_SECONDS", 0.2)
    job = Blocking(1)
    worker = make_worker(arq_redis, job)
    theirs = await arq_redis.enqueue_job("hold", "theirs", _job_id="theirs")
    free = await arq_redis.enqueue_job("hold", "free", _job_id="free")
    assert theirs is not None
    assert free is not None
    await arq_redis.psetex("arq:in-progress:theirs", 60_000, b"1")
    main = asyncio.create_task(worker.main())
    try:
        await asyncio.wait_for(job.all_started.wait(), 10)
        await asyncio.sleep(POLL * 10)
        assert job.started == Counter({"free": 1})
        await arq_redis.delete("arq:in-progress:theirs")  # its worker died; the mark lapsed
        job.release.set()
        assert await free.result(timeout=10, poll_delay=POLL) == "free"
        assert await theirs.result(timeout=10, poll_delay=POLL) == "theirs"
    finally:
        main.cancel()
        await asyncio.gather(main, return_exceptions=True)

    assert job.started == Counter({"free": 1, "theirs": 1})
