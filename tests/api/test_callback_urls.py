"""`crm_callback_url` must name a public host unless DIALER_CALLBACK_ALLOW_PRIVATE: a 422
naming the field on create, edit and single calls, and nothing written."""

from __future__ import annotations

import httpx
import pytest

from dialer.settings import Settings
from tests.api.support import Sessions, authorize, campaign_count, create, error_of, with_api_keys
from tests.api.test_calls import call_body
from tests.factories import campaign_body

PUBLIC = "https://crm.example/hook"
NOT_PUBLIC = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://localhost:8000/hook",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://[::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "https://10.0.0.1/hook",
    "https://192.168.1.10/hook",
    "http://1.2.3.256/hook",
]


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return authorize(client)


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["details"] == {"field": "crm_callback_url"}
    assert error["message"].startswith("crm_callback_url: ")
    assert "DIALER_CALLBACK_ALLOW_PRIVATE" in error["message"]


@pytest.mark.parametrize("url", NOT_PUBLIC)
async def test_a_campaign_calling_back_a_host_that_is_not_public_is_refused(
    api: httpx.AsyncClient, sessions: Sessions, url: str
) -> None:
    assert_refused(await api.post("/v1/campaigns", json=campaign_body(crm_callback_url=url)))
    assert await campaign_count(sessions) == 0


async def test_an_edit_to_such_a_host_is_refused_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    created = await create(api, crm_callback_url=PUBLIC)
    path = f"/v1/campaigns/{created['id']}"
    assert_refused(await api.patch(path, json={"crm_callback_url": NOT_PUBLIC[0]}))
    assert (await api.get(path)).json()["crm_callback_url"] == PUBLIC


async def test_a_single_call_with_such_a_host_is_refused(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    assert_refused(await api.post("/v1/calls", json=call_body(crm_callback_url=NOT_PUBLIC[0])))
    assert await campaign_count(sessions) == 0


@pytest.mark.parametrize("url", [PUBLIC, "https://8.8.8.8/hook", "https://[2a00:1450::8a]/h"])
async def test_public_hosts_are_taken(api: httpx.AsyncClient, url: str) -> None:
    assert (await create(api, crm_callback_url=url))["crm_callback_url"] == url


class TestAllowed:
    @pytest.fixture
    def api_settings(self, api_settings: Settings) -> Settings:
        return api_settings.model_copy(update={"callback_allow_private": True})

    async def test_the_setting_lets_local_receivers_in(self, api: httpx.AsyncClient) -> None:
        url = "http://127.0.0.1:9000/hook"
        assert (await create(api, crm_callback_url=url))["crm_callback_url"] == url
        response = await api.post("/v1/calls", json=call_body(crm_callback_url=url))
        assert response.status_code == 201, response.text
