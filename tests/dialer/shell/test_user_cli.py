"""`dialer user …` on a migrated SQLite database, and the admin `dialer up` creates once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns import users
from campaigns.db import create_engine, session_factory, upgrade
from dialer.shell import local_secrets
from dialer.shell.cli import app

runner = CliRunner()


@pytest.fixture
def data_dir_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIALER_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DIALER_DATABASE_URL", raising=False)
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{data_dir / 'dialer.db'}"))
    return data_dir


def _verify(data_dir: Path, login: str, password: str) -> bool:
    async def check() -> bool:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'dialer.db'}")
        try:
            async with session_factory(engine)() as session:
                return await users.verify(session, login, password) is not None
        finally:
            await engine.dispose()

    return asyncio.run(check())


def test_add_list_passwd_remove(data_dir_env: Path) -> None:
    added = runner.invoke(
        app, ["user", "add", "Anna", "--role", "marketer", "--password-stdin"], input="first pass\n"
    )
    assert added.exit_code == 0, added.output
    assert "anna" in runner.invoke(app, ["user", "list"]).output

    again = runner.invoke(
        app, ["user", "add", "anna", "--role", "admin", "--password-stdin"], input="other pass\n"
    )
    assert again.exit_code == 1
    assert "exists already" in again.output

    changed = runner.invoke(
        app, ["user", "passwd", "anna", "--password-stdin"], input="second pass\n"
    )
    assert changed.exit_code == 0
    assert _verify(data_dir_env, "anna", "second pass")
    assert not _verify(data_dir_env, "anna", "first pass")

    assert runner.invoke(app, ["user", "remove", "anna"]).exit_code == 0
    assert runner.invoke(app, ["user", "remove", "anna"]).exit_code == 1


def test_a_short_password_is_refused_in_words(data_dir_env: Path) -> None:
    result = runner.invoke(
        app, ["user", "add", "anna", "--role", "marketer", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1
    assert "password: must be 8" in result.output


def test_bootstrap_makes_the_admin_of_secrets_json_once(data_dir_env: Path) -> None:
    assert runner.invoke(app, ["user", "bootstrap"]).exit_code == 0
    stored = json.loads((data_dir_env / "secrets.json").read_text(encoding="utf-8"))
    assert _verify(data_dir_env, "admin", stored["admin_password"])

    runner.invoke(app, ["user", "passwd", "admin", "--password-stdin"], input="changed pass\n")
    assert runner.invoke(app, ["user", "bootstrap"]).exit_code == 0
    assert _verify(data_dir_env, "admin", "changed pass")


def test_a_secrets_file_from_before_the_console_gains_an_admin_password(data_dir: Path) -> None:
    path = local_secrets.secrets_path(data_dir)
    path.write_text(json.dumps({"api_key": "old-key", "webhook_token": "old-token"}), "utf-8")

    stored, created = local_secrets.load_or_create(data_dir)
    again, _ = local_secrets.load_or_create(data_dir)

    assert created is False
    assert stored.api_key.get_secret_value() == "old-key"
    assert len(stored.admin_password.get_secret_value()) >= 12
    assert again == stored
