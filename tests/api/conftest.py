"""The API app on real SQLite and Redis, its lifespan run, reached through httpx in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from dialer.settings import Settings
from dialer.shell.redis_server import RedisServer

WEBHOOK_TOKEN = "hook-5ecret-token"


@pytest.fixture
def api_settings(db_url: str, redis_server: RedisServer, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=db_url,
        redis_url=redis_server.url,
        webhook_token=SecretStr(WEBHOOK_TOKEN),
    )


@pytest.fixture
async def app(api_settings: Settings, redis_client: aioredis.Redis) -> AsyncIterator[FastAPI]:
    """Started (lifespan entered) on a flushed Redis; stopped after the test."""
    app = create_app(api_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client
