"""Property-based tests of the whole HTTP contract from its own OpenAPI document (schemathesis).

The app runs under uvicorn on a loopback port, in a thread with its own event loop, against a
migrated SQLite file and the session's real Redis; every documented operation gets generated
requests, valid and invalid, and every answer must be documented: no server error, a declared
status code, content type and body schema.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from campaigns.db import upgrade
from dialer.redis_server import RedisServer
from dialer.settings import Settings
from tests.api.support import API_KEY, AUTH

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 30


class ServerThread:
    """uvicorn in a thread: the tests' requests are synchronous, its loop must run meanwhile."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="schemathesis-api")

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(1000):
            if self.server.started or not self.thread.is_alive():
                break
            time.sleep(0.01)
        if not self.server.started:
            raise RuntimeError("uvicorn did not start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite+aiosqlite:///{folder / 'dialer.db'}"
    asyncio.run(upgrade(url))
    settings = Settings(
        _env_file=None,
        data_dir=folder,
        database_url=url,
        redis_url=redis_server.url,
        api_keys=[SecretStr(API_KEY)],
        webhook_token=SecretStr("schemathesis-token"),
        a_number="74950000000",
        max_upload_bytes=256 * 1024,
    )
    with ServerThread(settings) as base:
        yield base


DOCUMENT = create_app(Settings(_env_file=None)).openapi()
"""The document the app serves; it needs no running app (checked against /openapi.json)."""
schema = schemathesis.openapi.from_dict(DOCUMENT)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, base_url: str) -> None:
    case.call_and_validate(base_url=base_url, headers=AUTH, checks=CHECKS)


def test_the_served_document_is_the_tested_one(base_url: str) -> None:
    served = httpx.get(f"{base_url}/openapi.json", trust_env=False).json()
    assert served == DOCUMENT


def test_the_document_covers_every_route() -> None:
    paths = set(DOCUMENT["paths"])
    assert {
        "/v1/campaigns",
        "/v1/campaigns/{campaign_id}",
        "/v1/campaigns/{campaign_id}/contacts",
        "/v1/campaigns/{campaign_id}/contacts/{contact_id}",
        "/v1/campaigns/{campaign_id}/start",
        "/v1/campaigns/{campaign_id}/pause",
        "/v1/campaigns/{campaign_id}/resume",
        "/v1/campaigns/{campaign_id}/cancel",
        "/v1/campaigns/{campaign_id}/export",
        "/v1/campaigns/{campaign_id}/waiting",
        "/v1/campaigns/{campaign_id}/duplicate",
        "/v1/calls",
        "/v1/calls/{call_id}",
        "/v1/dnc",
        "/v1/dnc.csv",
        "/healthz",
        "/metrics",
    } == paths
    bearer = DOCUMENT["components"]["securitySchemes"]["HTTPBearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            answers = set(operation["responses"])
            if path.startswith("/v1/"):
                assert "401" in answers, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in answers, (method, path)
            for status, answer in operation["responses"].items():
                if status.startswith("4") or status.startswith("5"):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, status)


def test_docs_are_served(base_url: str) -> None:
    response = httpx.get(f"{base_url}/docs", trust_env=False)
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
