"""docker-compose.yml stays consistent with the settings class and with itself.

No Docker engine runs here: the file is checked as data, and by `docker compose config`
(or the older `docker-compose config`) when a client is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from dotenv import dotenv_values

from dialer.settings import Settings
from dialer.telecom.dtmf import DtmfMenu, to_sbapi
from workers.resources import call_setup

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SIM_ENV = ROOT / "examples" / "sim.env"
PROD_ENV = ROOT / "prod.env.example"
EXAMPLE_CAMPAIGN = ROOT / "examples" / "campaign.json"
INTERPOLATION = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")
APP_SERVICES = ("migrate", "api", "worker", "simulator")
SETTING = re.compile(r"\bDIALER_[A-Z0-9_]+\b")
REQUIRED_SECRETS = {
    "POSTGRES_PASSWORD": "compose-test",
    "DIALER_API_KEYS": "compose-test-key",
    "DIALER_WEBHOOK_TOKEN": "compose-test-token",
}


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def service(name: str) -> dict[str, Any]:
    found = compose()["services"][name]
    assert isinstance(found, dict)
    return found


def setting_names() -> set[str]:
    return {f"DIALER_{name.upper()}" for name in Settings.model_fields}


def rendered_environment(name: str, env_file: Path) -> dict[str, str]:
    """What compose puts in service `name`'s environment when run with `--env-file env_file`
    and a clean shell: `${VAR}`, `${VAR:-default}` and `${VAR:?error}` interpolated, bare keys
    passed through when the file sets them, left out otherwise."""
    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}

    def substitute(found: re.Match[str]) -> str:
        variable, operator, argument = found.groups()
        value = values.get(variable, "")
        if not value and operator == "?":
            raise AssertionError(f"compose would refuse {env_file.name}: {argument}")
        return value or (argument if operator == "-" else "")

    rendered = {}
    for key, value in service(name)["environment"].items():
        if value is not None:
            rendered[key] = INTERPOLATION.sub(substitute, str(value))
        elif key in values:
            rendered[key] = values[key]
    return rendered


def service_settings(name: str, env_file: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the service's process builds from that environment."""
    for key in setting_names():
        monkeypatch.delenv(key, raising=False)
    for key, value in rendered_environment(name, env_file).items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


@pytest.mark.parametrize("env_file", [SIM_ENV, PROD_ENV], ids=["sim", "prod"])
def test_workers_may_send_the_example_campaigns_menu(
    env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notify URL rule (https, or plain http where MTT cannot reach) holds for what the
    compose worker is given: the example campaign's DTMF menu goes out."""
    settings = service_settings("worker", env_file, monkeypatch)
    setup = call_setup(settings)
    menu = DtmfMenu.model_validate(json.loads(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"))["dtmf"])
    notify = {
        entry.value for entry in to_sbapi(menu, setup.notify_url, allow_http=setup.allow_http)
    }
    assert setup.notify_url in notify


def test_the_simulator_posts_events_to_the_api_service(monkeypatch: pytest.MonkeyPatch) -> None:
    event_url = urlsplit(service_settings("simulator", SIM_ENV, monkeypatch).event_url)
    assert event_url.hostname in compose()["services"]
    api = service_settings(event_url.hostname or "", SIM_ENV, monkeypatch)
    assert (event_url.port or 80) == api.port
    assert event_url.path == f"/webhooks/mtt/{api.webhook_token.get_secret_value()}"


def test_prod_example_sets_every_required_secret_and_an_https_public_url() -> None:
    environment = rendered_environment("api", PROD_ENV)
    assert set(REQUIRED_SECRETS) <= set(dotenv_values(PROD_ENV))
    assert environment["DIALER_PUBLIC_URL"].startswith("https://")
    assert environment["DIALER_SB_API_URL"].startswith("https://")


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("docker-compose.yml", COMPOSE.read_text(encoding="utf-8")),
        ("examples/sim.env", SIM_ENV.read_text(encoding="utf-8")),
        ("prod.env.example", PROD_ENV.read_text(encoding="utf-8")),
    ],
)
def test_every_dialer_variable_is_a_setting(source: str, text: str) -> None:
    unknown = set(SETTING.findall(text)) - setting_names()
    assert not unknown, f"{source} sets variables the Settings class does not have: {unknown}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_pass_every_setting(name: str) -> None:
    environment = service(name)["environment"]
    missing = setting_names() - set(environment)
    assert not missing, f"{name} does not pass these settings through: {sorted(missing)}"


@pytest.mark.parametrize("name", ["redis", "postgres", "api", "simulator"])
def test_long_running_dependencies_have_healthchecks(name: str) -> None:
    test = service(name).get("healthcheck", {}).get("test")
    assert test, f"{name} has no healthcheck"


@pytest.mark.parametrize("name", ["api", "worker"])
def test_api_and_worker_wait_for_healthy_storage_and_migrations(name: str) -> None:
    assert service(name)["depends_on"] == {
        "redis": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    redis = service("redis")
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_postgres_keeps_its_data_on_a_volume() -> None:
    assert any(v.endswith(":/var/lib/postgresql/data") for v in service("postgres")["volumes"])


def test_worker_scales_and_simulator_is_opt_in() -> None:
    worker = service("worker")
    assert "ports" not in worker
    assert "container_name" not in worker
    assert service("simulator")["profiles"] == ["sim"]
    assert "profiles" not in service("api")


def test_storage_urls_point_at_the_compose_services() -> None:
    environment = service("api")["environment"]
    assert environment["DIALER_REDIS_URL"] == "redis://redis:6379/0"
    assert "@postgres:5432/" in environment["DIALER_DATABASE_URL"]
    assert environment["DIALER_DATABASE_URL"].startswith("postgresql+asyncpg://")


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the variables the compose file reads."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not SETTING.fullmatch(key) and key not in {"POSTGRES_PASSWORD", "API_PORT"}
    }
    return kept | extra


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(  # noqa: S603 - fixed arguments
            [docker, "compose", "version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


@pytest.mark.parametrize("profile", [[], ["--profile", "sim"]])
def test_compose_config_accepts_the_file(profile: list[str]) -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client installed")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [*client, "--file", str(COMPOSE), "--env-file", str(SIM_ENV), *profile, "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    expected = {"redis", "postgres", "migrate", "api", "worker"} | (
        {"simulator"} if profile else set()
    )
    assert expected <= set(rendered["services"])  # docker-compose 1.x lists profiled ones too
    assert "demo-api-key" in rendered["services"]["api"]["environment"]["DIALER_API_KEYS"]


def test_compose_refuses_to_run_without_the_secrets() -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client installed")
    secrets = {k: v for k, v in REQUIRED_SECRETS.items() if k != "DIALER_WEBHOOK_TOKEN"}
    env = _clean_env(**secrets)
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [*client, "--file", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode != 0
    assert "DIALER_WEBHOOK_TOKEN" in result.stderr
