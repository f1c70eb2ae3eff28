"""The console's part 2 through the REST API: duplicates and copies of the unreached, number
search of contacts, the do-not-call list by prefix and as CSV."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.db import write_transaction
from campaigns.tables import Contact
from dialer.settings import Settings
from tests.api.support import authorize, contact, create, error_of, with_api_keys


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


async def finish(sessions: async_sessionmaker[AsyncSession], outcomes: dict[int, str]) -> None:
    """Contact n (phone 7910000nnnn) ends with its outcome."""
    async with write_transaction(sessions) as session:
        for n, outcome in outcomes.items():
            await session.execute(
                update(Contact)
                .where(Contact.phone == f"7910{n:07d}")
                .values(status="done", outcome=outcome, attempts=2)
            )


async def test_duplicate_with_the_unreached(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    source = await create(api, contacts=[contact(n) for n in range(4)])
    await finish(sessions, {0: "listened", 1: "busy", 2: "no_answer", 3: "invalid_number"})

    response = await api.post(
        f"/v1/campaigns/{source['id']}/duplicate", json={"contacts": "unreached"}
    )

    assert response.status_code == 201, response.text
    copy = response.json()
    assert response.headers["Location"] == f"/v1/campaigns/{copy['id']}"
    assert (copy["status"], copy["name"]) == ("draft", "Order ready (недозвон)")
    assert copy["stats"]["total"] == 2
    page = (await api.get(f"/v1/campaigns/{copy['id']}/contacts")).json()
    assert [(c["phone"], c["status"], c["attempts"]) for c in page["items"]] == [
        ("79100000001", "pending", 0),
        ("79100000002", "pending", 0),
    ]


async def test_duplicate_settings_only_by_default(api: httpx.AsyncClient) -> None:
    source = await create(api, contacts=[contact(0)])

    response = await api.post(f"/v1/campaigns/{source['id']}/duplicate", json={})

    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["stats"]["total"] == 0
    assert copy["name"] == "Order ready (копия)"
    assert {k: v for k, v in copy.items() if k in ("message", "dtmf", "schedule", "redial")} == {
        k: v for k, v in source.items() if k in ("message", "dtmf", "schedule", "redial")
    }


@pytest.mark.parametrize(
    ("path", "body", "status", "said"),
    [
        ("/v1/campaigns/404/duplicate", {}, 404, "campaign 404 does not exist"),
        ("/v1/campaigns/{id}/duplicate", {"contacts": "everyone"}, 422, "contacts"),
        ("/v1/campaigns/{id}/duplicate", {"contacts": "none", "extra": 1}, 422, "extra"),
    ],
)
async def test_duplicate_refuses(
    api: httpx.AsyncClient, path: str, body: dict[str, str], status: int, said: str
) -> None:
    source = await create(api)

    response = await api.post(path.format(id=source["id"]), json=body)

    assert response.status_code == status
    error = error_of(response)
    assert said in error["message"] + str(error["details"])


async def test_contacts_searched_by_number(api: httpx.AsyncClient) -> None:
    source = await create(api, contacts=[contact(n) for n in (5, 15, 25, 105)])

    by_part = await api.get(f"/v1/campaigns/{source['id']}/contacts", params={"number": "05"})
    by_start = await api.get(
        f"/v1/campaigns/{source['id']}/contacts", params={"number": "8 910 000 01"}
    )
    empty = await api.get(f"/v1/campaigns/{source['id']}/contacts", params={"number": "--"})

    assert [c["phone"] for c in by_part.json()["items"]] == ["79100000005", "79100000105"]
    assert [c["phone"] for c in by_start.json()["items"]] == ["79100000105"]
    assert empty.status_code == 422
    assert error_of(empty)["details"] == {"field": "number"}


async def test_dnc_by_prefix_and_as_csv(api: httpx.AsyncClient) -> None:
    for phone in ("+7 916 000 0001", "8 916 000 0002", "79170000003"):
        assert (
            await api.post("/v1/dnc", json={"phone": phone, "reason": "просил"})
        ).status_code == 201

    listed = await api.get("/v1/dnc", params={"prefix": "8916"})
    download = await api.get("/v1/dnc.csv")

    assert [e["phone"] for e in listed.json()["items"]] == ["79160000001", "79160000002"]
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["phone", "source", "reason", "added_at"]
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        ("79160000001", "api", "просил"),
        ("79160000002", "api", "просил"),
        ("79170000003", "api", "просил"),
    ]
