"""Contacts through the API: uploads (CSV, XLSX, JSON), their limits, listing and paging."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from dialer.settings import Settings
from tests.api.support import (
    authorize,
    contact,
    create,
    error_of,
    started,
    with_api_keys,
)

UPLOAD_LIMIT = 16 * 1024
MAX_COLUMNS = 3
CSV_ROWS = (
    "phone;name;order\n8 (910) 123-45-67;Анна;A-1\n+7 910 1234568;Борис;A-2\n12345;Вера;A-3\n"
)


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    limits = {"max_upload_bytes": UPLOAD_LIMIT, "max_import_columns": MAX_COLUMNS}
    return with_api_keys(api_settings).model_copy(update=limits)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(
    api: httpx.AsyncClient, campaign_id: int, content: bytes, name: str, **form: str
) -> httpx.Response:
    files = {"file": (name, content, "application/octet-stream")}
    return await api.post(f"/v1/campaigns/{campaign_id}/contacts", files=files, data=form)


def assert_report(body: dict[str, Any], rows: int, accepted: int, rejected: int) -> None:
    assert (body["rows"], body["accepted"], body["rejected_count"]) == (rows, accepted, rejected)


async def test_csv_upload_answers_the_report(api: httpx.AsyncClient) -> None:
    created = await create(api)
    response = await upload(api, created["id"], CSV_ROWS.encode("cp1251"), "list.csv")
    assert response.status_code == 200, response.text
    body = response.json()
    assert_report(body, rows=3, accepted=2, rejected=1)
    assert body["rejected"] == [
        {"line": 4, "column": "phone", "value": "12345", "reason": body["rejected"][0]["reason"]}
    ]
    phones = [
        c["phone"]
        for c in (await api.get(f"/v1/campaigns/{created['id']}/contacts")).json()["items"]
    ]
    assert phones == ["79101234567", "79101234568"]


async def test_explicit_phone_column_and_delimiter(api: httpx.AsyncClient) -> None:
    created = await create(api)
    csv = "Мобильный\tname\torder\n79101234567\tАнна\tA-1\n"
    response = await upload(
        api, created["id"], csv.encode(), "list.csv", phone_column="мобильный", delimiter="tab"
    )
    assert response.status_code == 200, response.text
    assert_report(response.json(), rows=1, accepted=1, rejected=0)


@pytest.mark.parametrize(
    ("content", "form", "status", "detail"),
    [
        (CSV_ROWS.encode("koi8-r"), {}, 200, "Анна"),
        (CSV_ROWS.encode("utf-16"), {}, 200, "Анна"),
        (CSV_ROWS.encode("cp1251"), {"encoding": "koi8-r"}, 200, "юММЮ"),  # as told
        (b"phone\r79101234567\r", {}, 200, None),
        (CSV_ROWS.encode(), {"encoding": "klingon"}, 422, "unknown encoding 'klingon'"),
        (b"phone;a;b;c\n79101234567;1;2;3\n", {}, 422, "the header row has 4 columns"),
    ],
)
async def test_encodings_line_breaks_and_the_column_cap(
    api: httpx.AsyncClient, content: bytes, form: dict[str, str], status: int, detail: str | None
) -> None:
    created = await create(api, message="Hello")
    response = await upload(api, created["id"], content, "list.csv", **form)
    assert response.status_code == status, response.text
    if status == 422:
        assert detail is not None
        assert detail in error_of(response)["message"]
        return
    listed = (await api.get(f"/v1/campaigns/{created['id']}/contacts")).json()["items"]
    assert listed[0]["phone"] == "79101234567"
    if detail is not None:
        assert listed[0]["vars"]["name"] == detail


async def test_xlsx_upload(api: httpx.AsyncClient) -> None:
    created = await create(api)
    content = xlsx([["Телефон", "name", "order"], [79101234567, "Анна", "A-1"]])
    response = await upload(api, created["id"], content, "list.xlsx")
    assert response.status_code == 200, response.text
    assert_report(response.json(), rows=1, accepted=1, rejected=0)


async def test_json_upload_reports_duplicates_and_dnc(api: httpx.AsyncClient) -> None:
    created = await create(api)
    assert (await api.post("/v1/dnc", json={"phone": "79100000002"})).status_code == 201
    contacts = [contact(1), contact(1), contact(2), contact(3)]
    response = await api.post(
        f"/v1/campaigns/{created['id']}/contacts", json={"contacts": contacts}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["dnc"]) == (2, 1, 1)
    again = await api.post(f"/v1/campaigns/{created['id']}/contacts", json={"contacts": contacts})
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contacts": [{"vars": {}}]}, "phone"),
        ({"contacts": [{"phone": "79101234567", "colour": "red"}]}, "colour"),
        ({"contacts": "79101234567"}, "contacts"),
        ({}, "contacts"),
    ],
)
async def test_json_upload_errors_name_the_field(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    created = await create(api)
    response = await api.post(f"/v1/campaigns/{created['id']}/contacts", json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert any(field in item["loc"] for item in error["details"]), error


async def test_a_file_too_large_is_413_and_stores_nothing(api: httpx.AsyncClient) -> None:
    created = await create(api)
    rows = "".join(f"7910{n:07d};x;y\n" for n in range(UPLOAD_LIMIT // 10))
    response = await upload(api, created["id"], f"phone;name;order\n{rows}".encode(), "big.csv")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert (await api.get(f"/v1/campaigns/{created['id']}")).json()["stats"]["total"] == 0


async def test_a_json_campaign_too_large_is_413(api: httpx.AsyncClient) -> None:
    contacts = [contact(n) for n in range(300)]
    response = await api.post(
        "/v1/campaigns", json={"name": "x", "message": "y", "contacts": contacts}
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


async def test_chunked_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    created = await create(api)

    async def chunks() -> Any:
        for _ in range(UPLOAD_LIMIT // 1000 + 2):
            yield b"x" * 1000

    response = await api.post(
        f"/v1/campaigns/{created['id']}/contacts",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"content": b"phone\n79101234567\n", "headers": {"content-type": "text/csv"}},
            415,
            "unsupported_media_type",
        ),
        ({"content": b"x", "headers": {}}, 415, "unsupported_media_type"),
        ({"files": {"other": ("a.csv", b"phone\n")}}, 422, "invalid"),
        ({"files": {"file": ("a.csv", b"")}}, 422, "import_refused"),
        ({"files": {"file": ("a.csv", b"name\nx\n")}}, 422, "import_refused"),
        ({"files": {"file": ("a.xls", b"\xd0\xcf\x11\xe0garbage")}}, 422, "import_refused"),
        ({"files": {"file": ("a.csv", b"phone\n1\n")}, "data": {"delimiter": "|"}}, 422, "invalid"),
        (
            {
                "content": b"--x\r\nbroken",
                "headers": {"content-type": "multipart/form-data"},
            },
            400,
            "bad_request",
        ),
    ],
)
async def test_bad_uploads_are_4xx(
    api: httpx.AsyncClient, kwargs: dict[str, Any], status: int, code: str
) -> None:
    created = await create(api)
    response = await api.post(f"/v1/campaigns/{created['id']}/contacts", **kwargs)
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code


async def test_a_cancelled_campaign_takes_no_contacts(api: httpx.AsyncClient) -> None:
    created = await create(api)
    await api.post(f"/v1/campaigns/{created['id']}/cancel")
    response = await api.post(
        f"/v1/campaigns/{created['id']}/contacts", json={"contacts": [contact(1)]}
    )
    assert response.status_code == 409


async def test_contacts_page_by_cursor_without_gaps_or_repeats(api: httpx.AsyncClient) -> None:
    created = await create(api, contacts=[contact(n) for n in range(7)])
    path = f"/v1/campaigns/{created['id']}/contacts"
    phones: list[str] = []
    cursor = None
    while True:
        page = (
            await api.get(path, params={"limit": 3} | ({"cursor": cursor} if cursor else {}))
        ).json()
        phones += [item["phone"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert phones == [f"7910{n:07d}" for n in range(7)]


async def test_contacts_filter_by_status_and_outcome(api: httpx.AsyncClient) -> None:
    running = await started(api, contacts=2)
    await api.post(f"/v1/campaigns/{running['id']}/cancel")
    path = f"/v1/campaigns/{running['id']}/contacts"
    cancelled = (await api.get(path, params={"outcome": "cancelled"})).json()["items"]
    assert [c["outcome"] for c in cancelled] == ["cancelled", "cancelled"]
    assert (await api.get(path, params={"status": "pending"})).json()["items"] == []
    done = (await api.get(path, params={"status": "done", "outcome": "listened"})).json()
    assert done == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("params", [{"status": "asleep"}, {"outcome": "maybe"}, {"cursor": "@@"}])
async def test_bad_contact_filters_are_422(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    created = await create(api)
    response = await api.get(f"/v1/campaigns/{created['id']}/contacts", params=params)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


async def test_contacts_say_why_they_wait(api: httpx.AsyncClient) -> None:
    draft = await create(api, contacts=[contact(1)])
    running = await started(api)
    await api.post(f"/v1/campaigns/{running['id']}/pause")
    for campaign, reason in ((draft, "not_started"), (running, "campaign_paused")):
        (item,) = (await api.get(f"/v1/campaigns/{campaign['id']}/contacts")).json()["items"]
        assert (item["status"], item["waiting_reason"], item["next_attempt_at"]) == (
            "pending",
            reason,
            None,
        )
