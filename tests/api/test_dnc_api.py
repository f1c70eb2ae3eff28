"""`/v1/dnc`: adding, finding, paging and removing do-not-call numbers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dialer.settings import Settings
from tests.api.support import authorize, error_of, with_api_keys


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


async def test_add_then_find_then_remove(api: httpx.AsyncClient) -> None:
    added = await api.post("/v1/dnc", json={"phone": "8 910 123-45-67", "reason": "asked"})
    assert added.status_code == 201, added.text
    entry = added.json()
    assert (entry["phone"], entry["reason"], entry["source"]) == ("79101234567", "asked", "api")
    found = (await api.get("/v1/dnc", params={"phone": "+79101234567"})).json()
    assert found == {"items": [entry], "next_cursor": None}
    removed = await api.delete("/v1/dnc", params={"phone": "9101234567"})
    assert (removed.status_code, removed.content) == (204, b"")
    assert (await api.get("/v1/dnc", params={"phone": "79101234567"})).json()["items"] == []


async def test_adding_twice_keeps_the_first_entry(api: httpx.AsyncClient) -> None:
    first = await api.post("/v1/dnc", json={"phone": "79101234567", "reason": "first"})
    again = await api.post("/v1/dnc", json={"phone": "79101234567", "reason": "second"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


async def test_removing_an_unlisted_number_is_404(api: httpx.AsyncClient) -> None:
    response = await api.delete("/v1/dnc", params={"phone": "79101234567"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_the_list_pages_by_number(api: httpx.AsyncClient) -> None:
    numbers = [f"7910000000{n}" for n in (5, 1, 3, 2, 4)]
    for number in numbers:
        await api.post("/v1/dnc", json={"phone": number})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/dnc", params=params)).json()
        seen += [item["phone"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == sorted(numbers)


@pytest.mark.parametrize(
    ("method", "kwargs", "where"),
    [
        ("post", {"json": {"phone": "123"}}, "phone"),
        ("post", {"json": {"phone": ""}}, "phone"),
        ("post", {"json": {"phone": "79101234567", "extra": 1}}, "extra"),
        ("post", {"json": {"reason": "x"}}, "phone"),
        ("get", {"params": {"phone": "abc"}}, "phone"),
        ("get", {"params": {"limit": "many"}}, "limit"),
        ("get", {"params": {"cursor": "%%%"}}, "cursor"),
        ("delete", {"params": {"phone": "12"}}, "phone"),
        ("delete", {}, "phone"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    api: httpx.AsyncClient, method: str, kwargs: dict[str, Any], where: str
) -> None:
    response = await api.request(method.upper(), "/v1/dnc", **kwargs)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "invalid"
    assert where in str(error["details"])


async def test_a_listed_number_is_kept_out_of_imports(api: httpx.AsyncClient) -> None:
    await api.post("/v1/dnc", json={"phone": "79101234567"})
    body = {"name": "c", "message": "m", "contacts": [{"phone": "79101234567"}]}
    created = (await api.post("/v1/campaigns", json=body)).json()
    assert (created["import_report"]["dnc"], created["stats"]["total"]) == (1, 0)
