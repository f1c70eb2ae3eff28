"""`/v1/campaigns` through the ASGI app on real SQLite and Redis: create, read, edit, lifecycle."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dialer.settings import Settings
from tests.api.support import (
    Sessions,
    authorize,
    campaign_count,
    contact,
    create,
    error_of,
    started,
    with_api_keys,
)
from tests.db_fixtures import insert_campaign
from tests.factories import campaign_body


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


async def test_create_answers_the_settings_and_zero_stats(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/campaigns", json=campaign_body())
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/campaigns/{body['id']}"
    sent = campaign_body()
    for key in ("name", "message", "a_number", "max_attempts", "redial", "crm_callback_url"):
        assert body[key] == sent[key], key
    assert body["voice"] == sent["voice"]
    assert body["dtmf"] == [
        {"digit": 1, "action": "notify", "number": None},
        {"digit": 3, "action": "transfer", "number": "74997090111"},
        {"digit": 9, "action": "opt_out", "number": None},
    ]
    assert body["schedule"]["workdays"] == ["08:00", "22:00"]
    assert (body["status"], body["status_reason"], body["import_report"]) == ("draft", None, None)
    assert body["stats"]["total"] == 0
    assert body["crm_callback_secret_set"] is False


async def test_create_with_inline_contacts_answers_the_import_report(
    api: httpx.AsyncClient,
) -> None:
    contacts = [contact(1), contact(2), contact(1), {"phone": "12345", "vars": contact(3)["vars"]}]
    body = await create(api, contacts=contacts)
    report = body["import_report"]
    assert (report["rows"], report["accepted"], report["duplicates"]) == (4, 2, 1)
    assert report["rejected_count"] == 1
    assert report["rejected"][0]["line"] == 4
    assert report["rejected"][0]["column"] == "phone"
    assert body["stats"]["total"] == 2
    assert body["stats"]["by_status"]["pending"] == 2


async def test_the_callback_secret_is_never_shown(api: httpx.AsyncClient) -> None:
    body = await create(api, crm_callback_url="https://crm.example/hook", crm_callback_secret="s3")
    again = (await api.get(f"/v1/campaigns/{body['id']}")).json()
    assert body["crm_callback_secret_set"] is again["crm_callback_secret_set"] is True
    assert "s3" not in str(body) + str(again)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"message": "Hello {name"}, "message"),
        ({"voice": {"lang": "xx-XX"}}, "voice"),
        ({"dtmf": [{"digit": 0, "action": "notify"}]}, "dtmf"),
        ({"dtmf": [{"digit": 3, "action": "transfer"}]}, "dtmf"),
        ({"schedule": {"timezone": "Mars/Olympus"}}, "schedule"),
        ({"schedule": {"workdays": ["22:00", "08:00"]}}, "schedule"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"redial": {"busy": [-1]}}, "redial"),
        ({"crm_callback_url": "ftp://crm"}, "crm_callback_url"),
        ({"a_number": "123"}, "a_number"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_settings_are_422_naming_the_field(
    api: httpx.AsyncClient, sessions: Sessions, change: dict[str, Any], field: str
) -> None:
    response = await api.post("/v1/campaigns", json=campaign_body(**change))
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "invalid"
    assert any(field in item["loc"] for item in error["details"]), error
    assert await campaign_count(sessions) == 0


async def test_a_menu_without_any_caller_id_is_refused(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = campaign_body()
    del body["a_number"]
    response = await api.post("/v1/campaigns", json=body)
    assert response.status_code == 422
    assert error_of(response)["details"] == {"field": "a_number"}
    assert await campaign_count(sessions) == 0


async def test_a_refused_inline_import_leaves_no_campaign(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    """`{order}` is in the message but no contact has it: the whole import is refused."""
    contacts = [{"phone": "79101234567", "vars": {"name": "Анна"}}]
    response = await api.post("/v1/campaigns", json=campaign_body(contacts=contacts))
    assert response.status_code == 422
    assert error_of(response)["code"] == "import_refused"
    assert await campaign_count(sessions) == 0


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {"content-type": "application/json"}),
        (b"[]", {"content-type": "application/json"}),
        (b"", {"content-type": "application/json"}),
        (b"name=x", {"content-type": "application/x-www-form-urlencoded"}),
    ],
)
async def test_bodies_that_are_not_a_campaign_are_422(
    api: httpx.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    response = await api.post("/v1/campaigns", content=content, headers=headers)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


async def test_get_answers_live_stats(api: httpx.AsyncClient) -> None:
    created = await create(api, contacts=[contact(n) for n in range(3)])
    body = (await api.get(f"/v1/campaigns/{created['id']}")).json()
    assert body["stats"]["total"] == 3
    assert body["stats"]["by_status"] == {"pending": 3, "scheduled": 0, "dialing": 0, "done": 0}
    assert body["stats"]["by_outcome"] == {}


@pytest.mark.parametrize("path", ["/v1/campaigns/999999", "/v1/campaigns/999999/contacts"])
async def test_unknown_campaign_is_404(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_a_single_call_is_not_a_campaign(api: httpx.AsyncClient, sessions: Sessions) -> None:
    call_id = await insert_campaign(sessions, kind="call")
    assert (await api.get(f"/v1/campaigns/{call_id}")).status_code == 404
    assert (await api.post(f"/v1/campaigns/{call_id}/pause")).status_code == 404
    assert [c["id"] for c in (await api.get("/v1/campaigns")).json()["items"]] == []


async def test_list_pages_newest_first(api: httpx.AsyncClient) -> None:
    ids = [(await create(api, name=f"c{n}"))["id"] for n in range(5)]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/campaigns", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert pages == 3


async def test_list_filters_by_status(api: httpx.AsyncClient) -> None:
    draft = await create(api)
    running = await started(api)
    for status, expected in (("draft", draft["id"]), ("running", running["id"])):
        items = (await api.get("/v1/campaigns", params={"status": status})).json()["items"]
        assert [item["id"] for item in items] == [expected]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"status": "sleeping"}, {"cursor": "garbage!"}]
)
async def test_bad_list_parameters_are_422(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await api.get("/v1/campaigns", params=params)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


async def test_patch_edits_a_draft_as_a_merge_patch(api: httpx.AsyncClient) -> None:
    created = await create(api)
    changes = {"name": "Renamed", "schedule": {"end_at": "2030-01-01T00:00:00Z"}, "redial": None}
    response = await api.patch(f"/v1/campaigns/{created['id']}", json=changes)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["schedule"]["end_at"] == "2030-01-01T00:00:00Z"
    assert body["schedule"]["workdays"] == ["08:00", "22:00"]
    assert body["redial"] == {}
    assert body["message"] == created["message"]


async def test_patch_of_a_running_campaign_is_409(api: httpx.AsyncClient) -> None:
    running = await started(api)
    response = await api.patch(f"/v1/campaigns/{running['id']}", json={"name": "x"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "illegal_transition"


async def test_patch_of_a_paused_campaign_is_allowed(api: httpx.AsyncClient) -> None:
    running = await started(api)
    await api.post(f"/v1/campaigns/{running['id']}/pause")
    response = await api.patch(f"/v1/campaigns/{running['id']}", json={"max_concurrent": 3})
    assert response.status_code == 200
    assert response.json()["max_concurrent"] == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"max_attempts": 99}, "max_attempts"), ({"a_number": None}, "a_number")],
)
async def test_a_patch_leaving_invalid_settings_is_422_and_changes_nothing(
    api: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    created = await create(api)
    response = await api.patch(f"/v1/campaigns/{created['id']}", json=changes)
    assert response.status_code == 422
    assert field in str(error_of(response)["details"])
    assert (await api.get(f"/v1/campaigns/{created['id']}")).json()["a_number"] == "74950000000"


# The legal moves of docs/design.md §4: action → status before → status after (None: 409).
LIFECYCLE = [
    ("start", "draft", "running"),
    ("pause", "draft", None),
    ("resume", "draft", None),
    ("cancel", "draft", "cancelled"),
    ("start", "running", None),
    ("pause", "running", "paused"),
    ("resume", "running", None),
    ("cancel", "running", "cancelled"),
    ("start", "paused", None),
    ("pause", "paused", None),
    ("resume", "paused", "running"),
    ("cancel", "paused", "cancelled"),
    ("start", "cancelled", None),
    ("pause", "cancelled", None),
    ("resume", "cancelled", None),
    ("cancel", "cancelled", None),
]


async def _campaign_in(api: httpx.AsyncClient, status: str) -> int:
    campaign_id = int((await create(api, contacts=[contact(1)]))["id"])
    moves = {"draft": [], "running": ["start"], "paused": ["start", "pause"]}
    for action in moves.get(status, ["cancel"]):
        assert (await api.post(f"/v1/campaigns/{campaign_id}/{action}")).status_code == 200
    return campaign_id


@pytest.mark.parametrize(("action", "before", "after"), LIFECYCLE)
async def test_lifecycle_allows_only_legal_transitions(
    api: httpx.AsyncClient, action: str, before: str, after: str | None
) -> None:
    campaign_id = await _campaign_in(api, before)
    response = await api.post(f"/v1/campaigns/{campaign_id}/{action}")
    status = (await api.get(f"/v1/campaigns/{campaign_id}")).json()["status"]
    if after is None:
        assert response.status_code == 409, response.text
        error = error_of(response)
        assert error["code"] == "illegal_transition"
        assert error["details"] == {"status": before, "action": action}
        assert status == before
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status == after


async def test_start_with_a_future_start_at_schedules(api: httpx.AsyncClient) -> None:
    schedule = campaign_body()["schedule"] | {"start_at": "2099-01-01T00:00:00Z"}
    created = await create(api, contacts=[contact(1)], schedule=schedule)
    response = await api.post(f"/v1/campaigns/{created['id']}/start")
    assert response.json()["status"] == "scheduled"


async def test_start_without_contacts_is_409(api: httpx.AsyncClient) -> None:
    created = await create(api)
    response = await api.post(f"/v1/campaigns/{created['id']}/start")
    assert response.status_code == 409
    assert "no contacts" in error_of(response)["message"]


async def test_start_after_end_at_is_409_naming_the_field(api: httpx.AsyncClient) -> None:
    schedule = campaign_body()["schedule"] | {"end_at": "2020-01-01T00:00:00Z"}
    created = await create(api, contacts=[contact(1)], schedule=schedule)
    response = await api.post(f"/v1/campaigns/{created['id']}/start")
    assert response.status_code == 409
    assert error_of(response)["details"] == {"field": "schedule.end_at"}


async def test_cancel_ends_waiting_contacts_as_cancelled(api: httpx.AsyncClient) -> None:
    running = await started(api, contacts=3)
    body = (await api.post(f"/v1/campaigns/{running['id']}/cancel")).json()
    assert (body["status"], body["status_reason"]) == ("cancelled", "cancelled by API")
    assert body["finished_at"] is not None
    assert body["stats"]["by_outcome"] == {"cancelled": 3}


async def test_pause_records_its_reason(api: httpx.AsyncClient) -> None:
    running = await started(api)
    body = (await api.post(f"/v1/campaigns/{running['id']}/pause")).json()
    assert (body["status"], body["status_reason"]) == ("paused", "paused by API")
