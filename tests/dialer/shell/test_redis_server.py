from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from dialer.shell.redis_server import (
    STARTUP_TIMEOUT,
    RedisServer,
    RedisServerError,
    find_redis_binary,
)
from tests.e2e.deployment import survivors

STARTER = """
import sys, time
from pathlib import Path
from dialer.shell.redis_server import RedisServer
server = RedisServer(Path(sys.argv[1])).start()
Path(sys.argv[2]).write_text(str(server.pid))
time.sleep(120)
"""


def test_binary_is_found() -> None:
    assert Path(find_redis_binary()).name == "redis-server"


def test_data_survives_a_restart_through_the_aof(tmp_path: Path) -> None:
    server = RedisServer(tmp_path).start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        client.close()
    finally:
        server.stop()
    port = server.port
    restarted = RedisServer(tmp_path, port=port).start()
    try:
        assert redis.Redis.from_url(restarted.url).get("k") == b"v"
    finally:
        restarted.stop()
    assert not restarted.running


def test_a_busy_port_is_a_clear_error(tmp_path: Path, redis_server: RedisServer) -> None:
    with pytest.raises(RedisServerError, match="redis-server"):
        RedisServer(tmp_path, port=redis_server.port).start()


async def test_fixture_gives_a_real_flushed_server(redis_client: redis.asyncio.Redis) -> None:
    assert await redis_client.dbsize() == 0
    await redis_client.set("a", 1)
    info = await redis_client.info("server")
    assert "redis_version" in info


def test_a_second_server_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    """Two servers appending to one AOF corrupt it."""
    with RedisServer(tmp_path) as first:
        with pytest.raises(RedisServerError, match=rf"\(pid {first.pid}\) still uses"):
            RedisServer(tmp_path, lock_wait=0.3).start()
        assert redis.Redis.from_url(first.url).ping()
    RedisServer(tmp_path).start().stop()  # free again once the first is gone


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "redis.pid"
    with subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", STARTER, str(tmp_path / "redis"), str(pid_file)]
    ) as starter:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not pid_file.exists() and starter.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        starter.kill()
    server = int(pid_file.read_text())
    left = survivors({server}, 10)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left
