"""Which event URLs a worker may hand sb-api as DTMF notify targets (`call_setup`).

MTT, on the public internet, POSTs notifications only to https. A plain-http URL is sent only
when its host is one MTT can never reach, so only a simulator on the same host or network
(`dialer up`, the compose `sim` profile) receives it.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from dialer.settings import Settings
from dialer.telecom.dtmf import DtmfMenu, NotifyUrlError, to_sbapi
from workers.resources import call_setup

MENU = DtmfMenu.model_validate([{"digit": 1, "action": "notify"}])


def settings(public_url: str) -> Settings:
    return Settings(_env_file=None, public_url=public_url, webhook_token=SecretStr("t0ken"))


@pytest.mark.parametrize(
    "public_url",
    [
        "https://dialer.example.com",
        "https://10.0.0.5:8443",
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
        "http://api:8000",  # a compose service
        "http://API:8000/",
        "http://10.1.2.3:8000",
        "http://172.20.0.4:8000",
        "http://192.168.1.10",
        "http://[fd00::5]:8000",
        "http://dialer.internal:8000",
        "http://dialer.local",
        "http://box.home.arpa",
    ],
)
def test_https_anywhere_and_plain_http_only_where_mtt_cannot_reach(public_url: str) -> None:
    setup = call_setup(settings(public_url))
    wire = to_sbapi(MENU, setup.notify_url, allow_http=setup.allow_http)
    assert wire[0].value == f"{public_url.rstrip('/')}/webhooks/mtt/t0ken"


@pytest.mark.parametrize(
    "public_url",
    [
        "http://dialer.example.com",
        "http://dialer.example.com.",
        "http://8.8.8.8:8000",
        "http://[2001:4860:4860::8888]",
        "http://local.example.com",
        "ftp://api:8000",
    ],
)
def test_plain_http_to_a_host_mtt_can_reach_is_refused(public_url: str) -> None:
    setup = call_setup(settings(public_url))
    with pytest.raises(NotifyUrlError):
        to_sbapi(MENU, setup.notify_url, allow_http=setup.allow_http)
