"""Bearer API keys on every `/v1` route; `/healthz`, `/metrics` and `/docs` stay open."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.auth import key_matches
from dialer.settings import Settings
from tests.api.support import API_KEY, OTHER_KEY, error_of, with_api_keys

V1_ROUTES = [
    ("GET", "/v1/campaigns"),
    ("POST", "/v1/campaigns"),
    ("GET", "/v1/campaigns/1"),
    ("PATCH", "/v1/campaigns/1"),
    ("POST", "/v1/campaigns/1/contacts"),
    ("POST", "/v1/campaigns/1/start"),
    ("POST", "/v1/campaigns/1/pause"),
    ("POST", "/v1/campaigns/1/resume"),
    ("POST", "/v1/campaigns/1/cancel"),
    ("GET", "/v1/campaigns/1/contacts"),
    ("GET", "/v1/campaigns/1/contacts/1"),
    ("GET", "/v1/campaigns/1/export"),
    ("GET", "/v1/campaigns/1/waiting"),
    ("POST", "/v1/campaigns/1/duplicate"),
    ("POST", "/v1/calls"),
    ("GET", "/v1/calls/1"),
    ("GET", "/v1/dnc"),
    ("POST", "/v1/dnc"),
    ("DELETE", "/v1/dnc"),
    ("GET", "/v1/dnc.csv"),
]


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


def test_every_v1_route_of_the_app_is_listed_here(app: FastAPI) -> None:
    routes = {
        (
            method.upper(),
            path.replace("{campaign_id}", "1")
            .replace("{call_id}", "1")
            .replace("{contact_id}", "1"),
        )
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    }
    assert routes == set(V1_ROUTES)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        f"Bearer {API_KEY}x",
        f"Bearer {API_KEY[:-1]}",
        f"Basic {API_KEY}",
        API_KEY,
    ],
)
@pytest.mark.parametrize(("method", "path"), V1_ROUTES)
async def test_no_valid_key_is_401_before_anything_else(
    client: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.request(method, path, headers=headers, json={})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    error = error_of(response)
    assert error["code"] == "unauthorized"
    assert API_KEY not in response.text


@pytest.mark.parametrize("key", [API_KEY, OTHER_KEY])
async def test_each_configured_key_is_accepted(client: httpx.AsyncClient, key: str) -> None:
    response = await client.get("/v1/campaigns", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


async def test_no_keys_configured_means_no_access(api_settings: Settings) -> None:
    app = create_app(api_settings.model_copy(update={"api_keys": []}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.get("/v1/campaigns", headers={"Authorization": "Bearer "})
            assert response.status_code == 401


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/docs", "/openapi.json"])
async def test_operations_routes_need_no_key(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


@pytest.mark.parametrize(
    ("given", "keys", "expected"),
    [
        ("a", ["a"], True),
        ("b", ["a", "b"], True),
        ("a", [], False),
        ("", [""], False),
        ("a", ["ab"], False),
        ("ключ", ["ключ"], True),
    ],
)
def test_key_matches(given: str, keys: list[str], expected: bool) -> None:
    assert key_matches(given, [SecretStr(k) for k in keys]) is expected
