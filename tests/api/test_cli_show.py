"""`dialer campaign show` against the API served on loopback: why the contacts wait."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from campaigns.db import upgrade
from dialer.settings import Settings
from dialer.shell import campaign_cli
from dialer.shell.redis_server import RedisServer
from tests.api.support import API_KEY, AUTH, closed_window, contact
from tests.api.test_schemathesis import ServerThread
from tests.factories import campaign_body


@pytest.fixture
def base_url(tmp_path: Path, redis_server: RedisServer) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dialer.db'}"
    asyncio.run(upgrade(url))
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=url,
        redis_url=redis_server.url,
        api_keys=[SecretStr(API_KEY)],
        webhook_token=SecretStr("cli-token"),
    )
    with ServerThread(settings) as base:
        yield base


def test_show_says_why_the_contacts_wait_and_until_when(base_url: str) -> None:
    span, opening = closed_window(ZoneInfo("Europe/Moscow"))
    body = campaign_body(
        contacts=[contact(n, timezone="Europe/Moscow") for n in range(3)],
        schedule={"workdays": span, "weekends": span},
    )
    with httpx.Client(base_url=base_url, headers=AUTH, trust_env=False) as api:
        created = api.post("/v1/campaigns", json=body).json()
        assert api.post(f"/v1/campaigns/{created['id']}/start").status_code == 200
    shown = CliRunner().invoke(
        campaign_cli.app, ["--url", base_url, "--api-key", API_KEY, "show", str(created["id"])]
    )
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "window_closed" in line)
    assert "3" in row.split()
    assert opening.strftime("%Y-%m-%dT%H:%M:%S") in row
