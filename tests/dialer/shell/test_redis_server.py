from __future__ import annotations

from pathlib import Path

import pytest
import redis

from dialer.shell.redis_server import RedisServer, RedisServerError, find_redis_binary


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
