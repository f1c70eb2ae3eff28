"""What `dialer up` hands its children: one environment every process agrees on."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import SecretStr

from dialer.settings import Settings
from dialer.shell import local_secrets
from dialer.shell.up import SIMULATOR_LOGIN, Wiring, wire, without_password

REDIS_URL = "redis://127.0.0.1:6390/0"


def stored_secrets() -> local_secrets.LocalSecrets:
    return local_secrets.LocalSecrets(
        SecretStr("stored-key"), SecretStr("stored-token"), SecretStr("stored-admin")
    )


def wired(
    data_dir: Path, fields: Mapping[str, object], simulator_port: int | None = 8911
) -> Wiring:
    settings = Settings.model_validate({"data_dir": data_dir, **fields})
    return wire(
        settings,
        stored_secrets(),
        base_env={"PATH": "/bin", "DIALER_CPS": "5"},
        redis_url=REDIS_URL,
        simulator_port=simulator_port,
        simulator_password="sim-pass",
    )


def test_simulator_mode_points_both_sides_at_the_simulator(data_dir: Path) -> None:
    wiring = wired(data_dir, {"host": "0.0.0.0", "port": 8123})  # noqa: S104 - a setting
    env = wiring.env
    assert env["DIALER_SB_API_URL"] == "http://127.0.0.1:8911/v1/sb"
    assert env["DIALER_MTT_RPC_URL"] == "http://127.0.0.1:8911/rpc"
    assert (env["DIALER_SB_LOGIN"], env["DIALER_SB_PASSWORD"]) == (SIMULATOR_LOGIN, "sim-pass")
    assert env["DIALER_PUBLIC_URL"] == "http://127.0.0.1:8123"
    assert wiring.event_url == "http://127.0.0.1:8123/webhooks/mtt/stored-token"
    assert wiring.simulator_url == "http://127.0.0.1:8911"


def test_shared_parts_are_wired_and_the_rest_of_the_environment_kept(data_dir: Path) -> None:
    env = wired(data_dir, {}).env
    assert env["DIALER_REDIS_URL"] == REDIS_URL
    assert env["DIALER_DATA_DIR"] == str(data_dir.resolve())
    assert env["DIALER_DATABASE_URL"] == f"sqlite+aiosqlite:///{data_dir.resolve() / 'dialer.db'}"
    assert (env["PATH"], env["DIALER_CPS"]) == ("/bin", "5")


@pytest.mark.parametrize(
    ("fields", "api_keys", "generated", "token"),
    [
        ({}, "stored-key", "stored-key", "stored-token"),
        ({"api_keys": "own-1,own-2"}, None, None, "stored-token"),
        ({"webhook_token": "own-token"}, "stored-key", "stored-key", "own-token"),
    ],
)
def test_configured_secrets_win_over_the_stored_ones(
    data_dir: Path,
    fields: dict[str, object],
    api_keys: str | None,
    generated: str | None,
    token: str,
) -> None:
    wiring = wired(data_dir, fields)
    assert wiring.env.get("DIALER_API_KEYS") == api_keys
    assert wiring.generated_key == generated
    assert wiring.env["DIALER_WEBHOOK_TOKEN"] == token


def test_with_mtt_credentials_nothing_of_mtt_is_overridden(data_dir: Path) -> None:
    mtt = {
        "sb_login": "acme",
        "sb_api_url": "https://sb-api.example/v1/sb",
        "public_url": "https://dialer.example",
    }
    wiring = wired(data_dir, mtt, simulator_port=None)
    assert wiring.simulator_url is None
    assert not {"DIALER_SB_LOGIN", "DIALER_SB_API_URL", "DIALER_PUBLIC_URL"} & set(wiring.env)
    assert wiring.event_url == "https://dialer.example/webhooks/mtt/stored-token"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+asyncpg://app:s3cret@db:5432/dialer",
            "postgresql+asyncpg://app:***@db:5432/dialer",
        ),
        ("postgresql+asyncpg://app@db/dialer", "postgresql+asyncpg://app@db/dialer"),
        ("sqlite+aiosqlite:////var/dialer.db", "sqlite+aiosqlite:////var/dialer.db"),
    ],
)
def test_database_urls_are_shown_without_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


def test_secrets_are_created_once_private_and_kept(data_dir: Path) -> None:
    first, created = local_secrets.load_or_create(data_dir)
    again, created_again = local_secrets.load_or_create(data_dir)
    assert (created, created_again) == (True, False)
    assert again == first
    assert first.api_key.get_secret_value() != first.webhook_token.get_secret_value()
    mode = stat.S_IMODE(local_secrets.secrets_path(data_dir).stat().st_mode)
    assert mode == 0o600
    assert first.api_key.get_secret_value() not in repr(first)


def test_a_broken_secrets_file_is_named_and_not_replaced(data_dir: Path) -> None:
    path = local_secrets.secrets_path(data_dir)
    path.write_text('{"api_key": 1}', encoding="utf-8")
    with pytest.raises(local_secrets.SecretsFileError, match=r"secrets\.json"):
        local_secrets.load_or_create(data_dir)
    assert path.read_text(encoding="utf-8") == '{"api_key": 1}'
