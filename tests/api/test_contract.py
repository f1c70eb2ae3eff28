"""The OpenAPI document states the forms the server enforces, and the server holds to them:
values of a type the schema does not name are refused, not coerced; cursors, phones and
validator rules appear in the document as patterns and bounds."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from api.app import create_app
from campaigns.paging import ID_CURSOR, NUMBER_CURSOR
from dialer.settings import Settings
from dialer.telecom.numbers import PHONE_PATTERN
from tests.api.support import authorize, with_api_keys
from tests.factories import campaign_body

DOCUMENT = create_app(Settings(_env_file=None)).openapi()
COMPONENTS = DOCUMENT["components"]["schemas"]
CONTACTS = "/v1/campaigns/{campaign_id}/contacts"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


def parameter(path: str, method: str, name: str) -> dict[str, Any]:
    found = [p for p in DOCUMENT["paths"][path][method]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = found[0]["schema"]
    return schema["anyOf"][0] if "anyOf" in schema else schema


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        (parameter("/v1/campaigns", "get", "cursor").get("pattern"), ID_CURSOR),
        (parameter(CONTACTS, "get", "cursor").get("pattern"), f"{ID_CURSOR}|{NUMBER_CURSOR}"),
        (parameter("/v1/dnc", "get", "cursor").get("pattern"), NUMBER_CURSOR),
        (parameter("/v1/dnc", "get", "phone").get("pattern"), PHONE_PATTERN),
        (parameter("/v1/dnc", "delete", "phone").get("pattern"), PHONE_PATTERN),
        (COMPONENTS["DncIn"]["properties"]["phone"].get("pattern"), PHONE_PATTERN),
        (COMPONENTS["CallSpec"]["properties"]["phone"]["anyOf"][0].get("pattern"), PHONE_PATTERN),
        (COMPONENTS["DtmfAction"]["properties"]["digit"].get("maximum"), 9),
        (COMPONENTS["Voice"]["properties"]["speed"].get("maximum"), 3.0),
        (COMPONENTS["Schedule"]["properties"]["workdays"]["prefixItems"][0].get("pattern"),
         "^(?:(?:[01]?[0-9]|2[0-3]):[0-5][0-9]|24:00)$"),
        (parameter("/v1/calls", "post", "Idempotency-Key").get("maxLength"), 200),
    ],
)  # fmt: skip
def test_the_document_states_the_enforced_form(stated: object, expected: object) -> None:
    assert stated == expected


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"redial": {"busy": [False]}}, "redial"),
        ({"schedule": {"start_at": 0}}, "schedule.start_at"),
        ({"contacts": [{"phone": False}]}, "contacts.0.phone"),
        ({"contacts": [{"phone": "79101234567", "voice": {"speed": True}}]}, "contacts.0.voice"),
    ],
)
async def test_values_of_another_type_are_refused_not_coerced(
    api: httpx.AsyncClient, fields: dict[str, Any], where: str
) -> None:
    response = await api.post("/v1/campaigns", json=campaign_body(**fields))
    assert response.status_code == 422, response.text
    locations = [
        ".".join(map(str, item["loc"][1:])) for item in response.json()["error"]["details"]
    ]
    assert any(location.startswith(where) for location in locations), locations


@pytest.mark.parametrize("cursor", ["", "0", "01", "abc", "n7910", "1" * 19])
async def test_a_cursor_off_the_pattern_is_refused(api: httpx.AsyncClient, cursor: str) -> None:
    assert not re.fullmatch(ID_CURSOR, cursor)
    response = await api.get("/v1/campaigns", params={"cursor": cursor})
    assert response.status_code == 422


async def test_next_cursors_match_the_stated_pattern(api: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await api.post("/v1/campaigns", json=campaign_body())).status_code == 201
    page = (await api.get("/v1/campaigns", params={"limit": 1})).json()
    assert re.fullmatch(ID_CURSOR, page["next_cursor"])
    following = await api.get("/v1/campaigns", params={"limit": 1, "cursor": page["next_cursor"]})
    assert following.status_code == 200
    assert following.json()["items"][0]["id"] < page["items"][0]["id"]


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keys(value)}
    if isinstance(node, list):
        return {key for value in node for key in _keys(value)}
    return set()


def test_every_bound_in_the_document_is_json_schemas_own() -> None:
    """pydantic writes a constraint placed after a validator as its own `ge`/`le`, which no
    client or fuzzer reads: the bounds must be `minimum`/`maximum`."""
    assert _keys(COMPONENTS) & {"ge", "le", "gt", "lt"} == set()
