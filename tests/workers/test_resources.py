"""Both processes that settle calls (the API's inbox writer, the workers' sweeps) hold one and the
same base redial policy, built from the same settings."""

from __future__ import annotations

from arq.connections import ArqRedis

from api.resources import open_resources as open_api_resources
from campaigns.policy import base_policy
from dialer.shell.redis_server import RedisServer
from dialer.telecom.causes import Category
from tests.workers.support import settings_for
from workers.resources import close_resources, open_resources


async def test_api_and_workers_settle_with_the_same_base_policy(
    db_url: str, redis_server: RedisServer, arq_redis: ArqRedis
) -> None:
    settings = settings_for(
        None, db_url, redis_server.url, cause_map={"17": "no_answer"}, min_listen_seconds=9
    )
    expected = base_policy(settings)
    assert expected.categories[17] is Category.NO_ANSWER
    assert expected.min_listen_seconds == 9
    workers = await open_resources(settings, arq_redis)
    try:
        async with open_api_resources(settings) as api:
            assert api.policy == workers.policy == expected
    finally:
        await close_resources(workers)
