"""Secrets that `dialer up` generates once and keeps in DATA_DIR/secrets.json (mode 0600).

A second `dialer up` on the same data directory must keep the API key the operator was shown
and the webhook token MTT was given, and the `campaign` CLI reads the API key from here when
none is passed, so a newcomer never copies a key by hand.
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


def secrets_path(data_dir: Path) -> Path:
    return data_dir / SECRETS_FILE


def load(data_dir: Path) -> LocalSecrets | None:
    """The stored secrets, or None when `dialer up` never ran on this data directory."""
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
    return LocalSecrets(*(SecretStr(raw[name]) for name in fields))


def load_or_create(data_dir: Path) -> tuple[LocalSecrets, bool]:
    """The stored secrets, or fresh ones written with mode 0600; True when just created."""
    found = load(data_dir)
    if found is not None:
        return found, False
    fresh = LocalSecrets(
        api_key=SecretStr(secrets.token_urlsafe(32)),
        webhook_token=SecretStr(secrets.token_urlsafe(24)),
    )
    body = json.dumps(
        {
            "api_key": fresh.api_key.get_secret_value(),
            "webhook_token": fresh.webhook_token.get_secret_value(),
        },
        indent=2,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    path = secrets_path(data_dir)
    partial = path.with_name(f".{SECRETS_FILE}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(body + "\n")
    os.replace(partial, path)
    return fresh, True
