"""`GET /v1/campaigns/{id}/export`: the streamed results file, its name and its contents."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import update

from campaigns.db import write_transaction
from campaigns.exporter import ATTEMPT_COLUMNS, CONTACT_COLUMNS, XLSX_MAX_COLUMNS
from campaigns.tables import Contact
from dialer.settings import Settings
from tests.api.support import API_KEY, Sessions, authorize, contact, create, error_of, with_api_keys
from tests.factories import T0, make_attempt


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


async def called_campaign(api: httpx.AsyncClient, sessions: Sessions) -> int:
    """Two contacts: the first listened 16 s and chose 1; the second is still pending."""
    created = await create(
        api, contacts=[contact(1), contact(2, vars={"name": "=cmd", "order": "B"})]
    )
    campaign_id = int(created["id"])
    async with write_transaction(sessions) as session:
        first = (
            await session.scalars(
                update(Contact)
                .where(Contact.campaign_id == campaign_id, Contact.phone == "79100000001")
                .values(
                    status="done",
                    outcome="listened",
                    attempts=1,
                    last_cause=16,
                    listened_seconds=16,
                    dtmf="1",
                    first_call_at=T0,
                    last_call_at=T0,
                )
                .returning(Contact.id)
            )
        ).one()
        session.add(
            make_attempt(
                contact_id=first,
                campaign_id=campaign_id,
                phone="79100000001",
                state="finished",
                call_id="00035c7d92bb0971",
                cause=16,
                duration=16,
                category="listened",
                dtmf="1",
                finished_at=T0,
            )
        )
    return campaign_id


def rows_of(response: httpx.Response, delimiter: str = ";") -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=delimiter))


async def test_contacts_csv(api: httpx.AsyncClient, sessions: Sessions) -> None:
    campaign_id = await called_campaign(api, sessions)
    response = await api.get(f"/v1/campaigns/{campaign_id}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="campaign-{campaign_id}-contacts.csv"'
    )
    header, first, second = rows_of(response)
    assert header == [*CONTACT_COLUMNS, "name", "order"]
    row = dict(zip(header, first, strict=True))
    assert (row["phone"], row["status"], row["outcome"], row["dtmf"]) == (
        "79100000001",
        "done",
        "listened",
        "1",
    )
    assert (row["listened_seconds"], row["last_cause"], row["call_ids"]) == (
        "16",
        "16",
        "00035c7d92bb0971",
    )
    assert row["first_call_at"] == "2026-11-25T09:00:00Z"
    assert (row["name"], row["order"]) == ("Имя 1", "A-1")
    other = dict(zip(header, second, strict=True))
    assert (other["status"], other["outcome"], other["name"]) == ("pending", "", "'=cmd")


async def test_attempts_csv_with_comma(api: httpx.AsyncClient, sessions: Sessions) -> None:
    campaign_id = await called_campaign(api, sessions)
    response = await api.get(
        f"/v1/campaigns/{campaign_id}/export", params={"level": "attempts", "delimiter": ","}
    )
    assert response.status_code == 200
    assert "attempts.csv" in response.headers["content-disposition"]
    header, only = rows_of(response, ",")
    assert header == [*ATTEMPT_COLUMNS, "name", "order"]
    row = dict(zip(header, only, strict=True))
    assert (row["state"], row["category"], row["call_id"]) == (
        "finished",
        "listened",
        "00035c7d92bb0971",
    )


async def test_contacts_xlsx_in_russian(api: httpx.AsyncClient, sessions: Sessions) -> None:
    campaign_id = await called_campaign(api, sessions)
    response = await api.get(
        f"/v1/campaigns/{campaign_id}/export", params={"format": "xlsx", "lang": "ru"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][: len(CONTACT_COLUMNS)] == list(CONTACT_COLUMNS)
    assert rows[1][0] == "79100000001"
    text = rows[1][CONTACT_COLUMNS.index("last_cause_text")]
    assert isinstance(text, str)
    assert any("а" <= letter <= "я" for letter in text.lower())
    assert len(rows) == 3


@pytest.mark.parametrize(
    "params",
    [{"format": "pdf"}, {"level": "calls"}, {"delimiter": "|"}, {"lang": "de"}],
)
async def test_bad_export_parameters_are_422(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    created = await create(api)
    response = await api.get(f"/v1/campaigns/{created['id']}/export", params=params)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


async def test_xlsx_wider_than_a_sheet_is_a_json_422_that_suggests_csv(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await called_campaign(api, sessions)
    too_many = XLSX_MAX_COLUMNS - len(CONTACT_COLUMNS) + 1 - 2  # name and order are there
    wide = {f"v{n}": "x" for n in range(too_many)}
    async with write_transaction(sessions) as session:
        await session.execute(
            update(Contact).where(Contact.campaign_id == campaign_id).values(vars=wide)
        )
    response = await api.get(f"/v1/campaigns/{campaign_id}/export", params={"format": "xlsx"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    error = error_of(response)
    assert (error["code"], error["details"]) == ("invalid", {"field": "format"})
    assert "16385" in error["message"]
    assert "format=csv" in error["message"]


async def test_export_of_an_unknown_campaign_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/campaigns/424242/export")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_export_is_streamed_in_chunks(api: httpx.AsyncClient, app: FastAPI) -> None:
    """Straight through ASGI (httpx's transport would join the body): several body messages,
    no Content-Length."""
    created = await create(api, contacts=[contact(n) for n in range(50)])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/v1/campaigns/{created['id']}/export",
        "raw_path": f"/v1/campaigns/{created['id']}/export".encode(),
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {API_KEY}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {"resources": app.state.resources},
    }
    messages: list[MutableMapping[str, Any]] = []
    requested = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    await app(scope, receive, send)
    start, *bodies = messages
    assert start["status"] == 200
    assert b"content-length" not in dict(start["headers"])
    chunks = [m["body"] for m in bodies if m["body"]]
    assert len(chunks) >= 2
    assert len(b"".join(chunks).decode("utf-8-sig").splitlines()) == 51
