"""The REST client's choices that need no server: where it connects, which key it sends,
and how an error answer becomes a message (the HTTP path is covered end to end)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import typer
from pydantic import SecretStr

from dialer.settings import Settings
from dialer.shell import local_secrets
from dialer.shell.api_client import DialerClient, NoApiKey, ServiceError, local_url, resolve_api_key
from dialer.shell.campaign_cli import campaign_body


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8100"),
        ("0.0.0.0", "http://127.0.0.1:8100"),  # noqa: S104 - only a setting here
        ("::1", "http://[::1]:8100"),
        ("dialer.internal", "http://dialer.internal:8100"),
    ],
)
def test_local_url_reaches_the_api_the_settings_describe(host: str, url: str) -> None:
    assert local_url(Settings(host=host, port=8100)) == url


def test_api_key_given_wins_then_configured_then_stored(data_dir: Path) -> None:
    stored, _ = local_secrets.load_or_create(data_dir)
    configured = Settings.model_validate({"data_dir": data_dir, "api_keys": "conf-1,conf-2"})
    bare = Settings(data_dir=data_dir)
    assert resolve_api_key(configured, "given").get_secret_value() == "given"
    assert resolve_api_key(configured, None).get_secret_value() == "conf-1"
    assert resolve_api_key(bare, None) == stored.api_key


def test_no_key_anywhere_says_where_to_get_one(data_dir: Path) -> None:
    with pytest.raises(NoApiKey, match="dialer up"):
        resolve_api_key(Settings(data_dir=data_dir), None)


def answering(status: int, body: bytes, content_type: str) -> DialerClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer k-1"
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return DialerClient(
        "http://dialer.test", SecretStr("k-1"), transport=httpx.MockTransport(handler)
    )


def test_error_body_of_the_contract_becomes_the_error() -> None:
    body = {
        "error": {"code": "conflict", "message": "campaign 7 is completed", "details": {"a": 1}}
    }
    client = answering(409, json.dumps(body).encode(), "application/json")
    with client, pytest.raises(ServiceError) as caught:
        client.change("7", "start")
    error = caught.value
    assert (error.status, error.code, error.message, error.details) == (
        409, "conflict", "campaign 7 is completed", {"a": 1},
    )  # fmt: skip
    assert str(error) == "HTTP 409 conflict: campaign 7 is completed"


def test_an_answer_without_the_error_body_still_names_the_request() -> None:
    with (
        answering(502, b"Bad Gateway", "text/plain") as client,
        pytest.raises(ServiceError) as caught,
    ):
        client.campaign("3")
    assert str(caught.value) == "HTTP 502 http_error: GET /v1/campaigns/3: Bad Gateway"


def test_the_key_is_in_no_repr() -> None:
    with answering(200, b"{}", "application/json") as client:
        assert "k-1" not in repr(client)


@pytest.mark.parametrize(
    ("settings_body", "name", "message", "file", "expected"),
    [
        (None, None, "Hi {name}", Path("orders.csv"), {"name": "orders", "message": "Hi {name}"}),
        ({"name": "A", "message": "m", "max_attempts": 2}, None, None, None,
         {"name": "A", "message": "m", "max_attempts": 2}),
        ({"name": "A", "message": "m"}, "B", "n", None, {"name": "B", "message": "n"}),
        ({"message": "m"}, None, None, None, {"name": "campaign", "message": "m"}),
    ],
)  # fmt: skip
def test_campaign_body_is_the_file_with_the_command_line_on_top(
    tmp_path: Path,
    settings_body: dict[str, object] | None,
    name: str | None,
    message: str | None,
    file: Path | None,
    expected: dict[str, object],
) -> None:
    settings_file = None
    if settings_body is not None:
        settings_file = tmp_path / "campaign.json"
        settings_file.write_text(json.dumps(settings_body), encoding="utf-8")
    assert campaign_body(settings_file, name=name, message=message, file=file) == expected


@pytest.mark.parametrize(
    ("content", "problem"), [("[1]", "not a JSON object"), ("{", "campaign.json")]
)
def test_campaign_body_refuses_a_bad_settings_file(
    tmp_path: Path, content: str, problem: str
) -> None:
    settings_file = tmp_path / "campaign.json"
    settings_file.write_text(content, encoding="utf-8")
    with pytest.raises(typer.BadParameter, match=problem):
        campaign_body(settings_file, name=None, message=None, file=None)


def test_campaign_body_needs_a_message() -> None:
    with pytest.raises(typer.BadParameter, match="--message"):
        campaign_body(None, name="x", message=None, file=None)
