"""The worker process: resources built once, the pacer started and stopped with it, arq's
worker kept serving across a Redis restart, `python -m workers` stopping cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio import Redis

from dialer.shell.redis_server import RedisServer
from tests.workers.support import NOWHERE, resources_of, settings_for
from workers.pace import LOCK_KEY
from workers.runner import serve
from workers.settings import SETTINGS, SWEEP_SECONDS, on_shutdown, on_startup, worker_settings

ROOT = Path(__file__).resolve().parents[2]


async def wait_for_key(redis: Redis, key: str) -> bytes:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        value: bytes | None = await redis.get(key)
        if value is not None:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} never appeared in Redis")


async def test_startup_builds_resources_and_paces_until_shutdown(
    db_url: str, redis_server: RedisServer, arq_redis: ArqRedis
) -> None:
    ctx: dict[str, Any] = {
        "redis": arq_redis,
        SETTINGS: settings_for(None, db_url, redis_server.url),
    }
    await on_startup(ctx)
    resources = resources_of(ctx)
    (pacer,) = resources.tasks
    await wait_for_key(arq_redis, LOCK_KEY)  # the pacer leads
    await on_shutdown(ctx)
    await on_shutdown(ctx)  # twice is harmless
    assert pacer.cancelled()
    assert resources.http.is_closed
    assert await arq_redis.get(LOCK_KEY) is None  # resigned: another process leads at once


async def test_startup_refuses_to_run_without_settings(arq_redis: ArqRedis) -> None:
    with pytest.raises(RuntimeError, match="needs its Settings"):
        await on_startup({"redis": arq_redis})


def test_worker_settings_carry_the_deployment(tmp_path: Path) -> None:
    settings = settings_for(None, "sqlite+aiosqlite:///x.db", "redis://127.0.0.1:6400/3", cps=40)
    values = worker_settings(settings)
    assert [f.name for f in values["functions"]] == ["dial", "deliver_callback"]
    sweep, retry, crm = values["cron_jobs"]
    assert (sweep.name, sweep.second) == ("sweep", set(SWEEP_SECONDS))
    assert (retry.name, crm.name) == ("retry_events", "sweep_callbacks")
    redis = values["redis_settings"]
    assert (redis.host, redis.port, redis.database) == ("127.0.0.1", 6400, 3)
    assert values["ctx"] == {SETTINGS: settings}
    assert values["max_jobs"] >= 40 * 3
    assert values["handle_signals"] is False


async def test_the_worker_keeps_serving_after_redis_restarts(tmp_path: Path, db_url: str) -> None:
    server = await asyncio.to_thread(RedisServer(tmp_path / "redis").start)
    settings = settings_for(None, db_url, server.url)
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(settings, stop))
    try:
        for probe in ("before", "after"):
            pool = await create_pool(RedisSettings.from_dsn(server.url))
            try:
                job = await pool.enqueue_job("sweep", _job_id=f"probe-{probe}")
                assert job is not None
                assert isinstance(await job.result(timeout=20, poll_delay=0.1), dict)
            finally:
                await pool.aclose()
            if probe == "before":
                await asyncio.to_thread(server.stop, kill=True)
                await asyncio.sleep(1.5)  # the worker loses Redis mid-poll
                await asyncio.to_thread(server.start)
        assert not worker.done()
    finally:
        stop.set()
        try:
            await asyncio.wait_for(worker, 30)
        finally:
            await asyncio.to_thread(server.stop)


def test_python_m_workers_runs_and_stops_on_sigterm(
    tmp_path: Path, db_url: str, redis_server: RedisServer
) -> None:
    import redis

    env = {
        **os.environ,
        "DIALER_DATABASE_URL": db_url,
        "DIALER_REDIS_URL": redis_server.url,
        "DIALER_SB_LOGIN": "worker",
        "DIALER_SB_API_URL": f"{NOWHERE}/v1/sb",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "workers"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = redis.Redis.from_url(redis_server.url)
    try:
        deadline = time.monotonic() + 20
        while client.get(LOCK_KEY) is None:
            assert process.poll() is None, process.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the worker's pacer never took the lead"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err.decode()[-2000:]
        assert client.get(LOCK_KEY) is None
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        client.close()


async def test_a_bad_setting_ends_the_worker_instead_of_looping(
    db_url: str, redis_server: RedisServer
) -> None:
    settings = settings_for(None, db_url, redis_server.url, sb_login=None)
    with pytest.raises(ValueError, match="DIALER_SB_LOGIN is not set"):
        await asyncio.wait_for(serve(settings, asyncio.Event()), 20)
