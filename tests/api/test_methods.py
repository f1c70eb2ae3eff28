"""A 405 lists every method its path supports in `Allow`, whichever route answered it."""

from __future__ import annotations

import httpx
import pytest

from tests.api.support import AUTH


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/campaigns", "GET, POST"),
        ("PUT", "/v1/campaigns", "GET, POST"),
        ("OPTIONS", "/v1/campaigns/1", "GET, PATCH"),
        ("DELETE", "/v1/campaigns/1", "GET, PATCH"),
        ("OPTIONS", "/v1/campaigns/1/contacts", "GET, POST"),
        ("OPTIONS", "/v1/dnc", "GET, POST, DELETE"),
        ("PATCH", "/v1/dnc", "GET, POST, DELETE"),
        ("GET", "/v1/campaigns/1/start", "POST"),
        ("DELETE", "/v1/calls", "POST"),
        ("POST", "/healthz", "GET"),
    ],
)
async def test_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path, headers=AUTH)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_a_path_no_route_serves_stays_404(client: httpx.AsyncClient) -> None:
    response = await client.options("/v1/nothing", headers=AUTH)
    assert response.status_code == 404
    assert "Allow" not in response.headers
