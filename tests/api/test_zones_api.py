"""The API's imports place each callee by the numbering plan, DATA_DIR's when newer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from dialer.settings import Settings
from dialer.telecom.numbering import NumberingPlan, parse_registry
from tests.api.support import authorize, create, with_api_keys
from tests.dialer.telecom.numbering_files import registry_file
from tests.factories import campaign_body

TOMSK = (("910", "1234567", "1234567", "1", 'ПАО "МТС"', "Томская обл."),)


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


def _contacts(*phones: str) -> dict[str, Any]:
    return {"contacts": [{"phone": p, "vars": {"name": "А", "order": "1"}} for p in phones]}


async def test_the_report_counts_zones_and_contacts_show_region_and_operator(
    api: httpx.AsyncClient,
) -> None:
    created = await create(api)
    url = f"/v1/campaigns/{created['id']}/contacts"
    response = await api.post(url, json=_contacts("79011340000", "79101234567", "79951234567"))
    assert response.status_code == 200, response.text
    assert response.json()["zones"] == {"Asia/Vladivostok": 1, "Europe/Moscow": 1, "unknown": 1}
    items = (await api.get(url)).json()["items"]
    assert [(c["timezone"], c["region"], c["operator"]) for c in items] == [
        ("Asia/Vladivostok", "Приморский край", 'ООО "Т2 МОБАЙЛ"'),
        ("Europe/Moscow", "Нижегородская обл.", 'ОАО "Мобильные ТелеСистемы"'),
        ("", None, None),  # DEF 995: not in the package's 2015 snapshot
    ]


@pytest.fixture
def updated_plan(data_dir: Path) -> None:
    """DATA_DIR holds a newer plan (as `dialer numbering update` leaves it), placing one 910
    number in Tomsk oblast."""
    plan = NumberingPlan(parse_registry(registry_file(TOMSK), "DEF-9xx.csv"), {})
    NumberingPlan(plan.ranges, {"files": ["DEF-9xx.csv"], "obtained": "2099-01-01"}).save(
        data_dir / "numbering"
    )


@pytest.mark.usefixtures("updated_plan")
async def test_the_service_uses_data_dirs_newer_plan(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/campaigns", json=campaign_body() | _contacts("79101234567"))
    assert response.status_code == 201, response.text
    assert response.json()["import_report"]["zones"] == {"Asia/Tomsk": 1}
