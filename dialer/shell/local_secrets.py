"""Secrets that `dialer up` generates once and keeps in DATA_DIR/secrets.json (mode 0600).

A second `dialer up` on the same data directory must keep the API key the operator was shown
and the webhook token MTT was given, and the `campaign` CLI reads the API key from here when
none is passed, so a newcomer never copies a key by hand. The console's first `admin` user gets
the password kept here (added to a file written before the console existed).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

SECRETS_FILE = "secrets.json"


class SecretsFileError(RuntimeError):
    """The secrets file exists but cannot be used."""


@dataclass(frozen=True)
class LocalSecrets:
    api_key: SecretStr
    webhook_token: SecretStr
    admin_password: SecretStr
    """The password of the console's first `admin` user."""


def secrets_path(data_dir: Path) -> Path:
    return data_dir / SECRETS_FILE


def load(data_dir: Path) -> LocalSecrets | None:
    """The stored secrets, or None when `dialer up` never ran on this data directory."""
    found = _read(data_dir)
    return None if found is None else found[0]


def _read(data_dir: Path) -> tuple[LocalSecrets, bool] | None:
    """The stored secrets and whether the file holds them all (one from before the console
    has no admin password: a fresh one stands in until `load_or_create` keeps it)."""
    path = secrets_path(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SecretsFileError(f"{path}: unreadable ({type(exc).__name__})") from None
    fields = ("api_key", "webhook_token")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(name), str) for name in fields):
        raise SecretsFileError(f"{path}: expected the string fields {', '.join(fields)}")
    admin = raw.get("admin_password")
    complete = isinstance(admin, str)
    password = admin if isinstance(admin, str) else _new_password()
    stored = LocalSecrets(
        SecretStr(raw["api_key"]), SecretStr(raw["webhook_token"]), SecretStr(password)
    )
    return stored, complete


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def load_or_create(data_dir: Path) -> tuple[LocalSecrets, bool]:
    """The stored secrets, or fresh ones written with mode 0600; True when just created."""
    found = _read(data_dir)
    if found is not None:
        stored, complete = found
        if not complete:
            _write(data_dir, stored)
        return stored, False
    fresh = LocalSecrets(
        api_key=SecretStr(secrets.token_urlsafe(32)),
        webhook_token=SecretStr(secrets.token_urlsafe(24)),
        admin_password=SecretStr(_new_password()),
    )
    _write(data_dir, fresh)
    return fresh, True


def _write(data_dir: Path, stored: LocalSecrets) -> None:
    values = {
        "api_key": stored.api_key,
        "webhook_token": stored.webhook_token,
        "admin_password": stored.admin_password,
    }
    body = json.dumps({name: value.get_secret_value() for name, value in values.items()}, indent=2)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = secrets_path(data_dir)
    partial = path.with_name(f".{SECRETS_FILE}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(body + "\n")
    os.replace(partial, path)
