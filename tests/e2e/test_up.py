"""`dialer up` end to end: the real processes on free ports, the simulator forced per number.

One `dialer up` serves the module. A campaign of a few hundred contacts goes in through the
HTTP API and must come out in the export exactly as the simulator played it; the README's
CLI walkthrough runs against the same service; a stop by Ctrl-C must leave nothing running,
and a second `dialer up` on the same data directory must finish what the first left open.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dialer.shell import campaign_cli
from tests.e2e.deployment import Deployment, alive, listening, running_service

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RUN_TIMEOUT = 90.0

# The truth per last digit: the simulator's scripted causes, and what the export must say.
# Redials wait one second (`redial` of the campaign below), so every contact ends in seconds.
RULES: dict[str, dict[str, Any]] = {
    "0": {"causes": ["listened"], "dtmf": 1},
    "1": {"causes": ["busy", "listened"], "dtmf": "none"},
    "2": {"causes": ["no_answer"]},
    "3": {"causes": ["invalid"]},
    "4": {"causes": ["listened"], "dtmf": 3},
    "5": {"causes": ["busy"]},
    "6": {"causes": ["hung_up"]},
    "7": {"causes": ["unavailable", "listened"], "dtmf": 1},
    "8": {"causes": ["listened"], "dtmf": "none"},
    "9": {"causes": ["rejected"]},
}
EXPECTED: dict[str, tuple[str, int, str]] = {
    "0": ("listened", 1, "1"),
    "1": ("listened", 2, ""),
    "2": ("no_answer", 3, ""),
    "3": ("invalid_number", 1, ""),
    "4": ("listened", 1, "3"),
    "5": ("busy", 2, ""),
    "6": ("hung_up", 2, ""),
    "7": ("listened", 2, "1"),
    "8": ("listened", 1, ""),
    "9": ("rejected", 2, ""),
}
SIM_OUTCOMES = {"invalid": "invalid_number"}
"""Simulator outcome names that differ from the contact outcome they must produce."""
FAST_REDIAL = {
    "busy": [1],
    "no_answer": [1, 1],
    "unavailable": [1],
    "hung_up": [1],
    "rejected": [1],
}
REDIAL_AFTER_STOP = 10
"""Seconds: long enough for a stop to happen before any redial is due."""
ALL_LISTEN = {"last_digit": {digit: {"causes": ["listened"]} for digit in "0123456789"}}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running_service(tmp_path_factory.mktemp("up"), {"last_digit": RULES})


def api(service: Deployment) -> httpx.Client:
    headers = {"Authorization": f"Bearer {service.api_key()}"}
    return httpx.Client(base_url=service.url, headers=headers, timeout=30)


def campaign_body(name: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "message": "Здравствуйте, {name}! Ваш заказ {order} готов к выдаче, нажмите 1 или 3.",
        "a_number": "74950000000",
        "dtmf": [
            {"digit": 1, "action": "notify"},
            {"digit": 3, "action": "transfer", "number": "74997090111"},
        ],
        "schedule": {"workdays": ["00:00", "24:00"], "weekends": ["00:00", "24:00"]},
        "max_attempts": 3,
        "max_concurrent": 50,
        "redial": FAST_REDIAL,
    } | changes


def phones(count: int, prefix: str) -> list[str]:
    return [f"7{prefix}{index:07d}" for index in range(count)]


def messy(phone: str, index: int) -> str:
    """The same number as people type it."""
    national = phone[1:]
    forms = (
        f"+7 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}",
        f"8{national}",
        national,
        f" 8 {national[:3]} {national[3:6]} {national[6:]} ",
    )
    return forms[index % len(forms)]


def contacts_csv(numbers: list[str]) -> bytes:
    lines = ["телефон;name;order"]
    lines += [f"{messy(phone, i)};Клиент {i};Z-{i}" for i, phone in enumerate(numbers)]
    lines += ["12345;Короткий;Z-x", "не знаю;Нет номера;Z-y", f"{numbers[0]};Повтор;Z-z"]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def wait_finished(client: httpx.Client, campaign_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        campaign: dict[str, Any] = (
            client.get(f"/v1/campaigns/{campaign_id}").raise_for_status().json()
        )
        if campaign["status"] in {"completed", "cancelled"}:
            return campaign
        if time.monotonic() > deadline:
            pytest.fail(f"campaign {campaign_id} did not finish: {campaign['stats']}")
        time.sleep(0.5)


def export_rows(client: httpx.Client, campaign_id: int) -> dict[str, dict[str, str]]:
    answer = client.get(f"/v1/campaigns/{campaign_id}/export", params={"format": "csv"})
    text = answer.raise_for_status().content.decode("utf-8-sig")
    return {row["phone"]: row for row in csv.DictReader(io.StringIO(text), delimiter=";")}


def simulated_calls(service: Deployment) -> dict[str, list[dict[str, Any]]]:
    calls = httpx.get(f"{service.sim_url}/_sim/calls", timeout=30).raise_for_status().json()
    by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in sorted(calls["calls"], key=lambda call: call["attempt"]):
        by_number[call["b_number"]].append(call)
    return by_number


def test_a_campaign_runs_to_the_end_as_the_simulator_played_it(service: Deployment) -> None:
    numbers = phones(200, "910")
    with api(service) as client:
        created = client.post("/v1/campaigns", json=campaign_body("e2e")).raise_for_status()
        campaign_id = created.json()["id"]
        upload = client.post(
            f"/v1/campaigns/{campaign_id}/contacts",
            files={"file": ("contacts.csv", contacts_csv(numbers), "text/csv")},
        ).raise_for_status()
        report = upload.json()
        assert (report["rows"], report["accepted"], report["duplicates"]) == (203, 200, 1)
        assert sorted(row["value"] for row in report["rejected"]) == ["12345", "не знаю"]
        client.post(f"/v1/campaigns/{campaign_id}/start").raise_for_status()
        finished = wait_finished(client, campaign_id)
        rows = export_rows(client, campaign_id)

    truth = simulated_calls(service)
    assert finished["status"] == "completed"
    assert set(rows) == set(numbers)
    for phone, row in rows.items():
        calls = truth[phone]
        last = calls[-1]
        played = (
            SIM_OUTCOMES.get(last["outcome"], last["outcome"]),
            len(calls),
            "".join(str(call["dtmf"]) for call in calls if call["dtmf"] is not None),
        )
        exported = (row["outcome"], int(row["attempts"]), row["dtmf"])
        assert exported == played == EXPECTED[phone[-1]], phone
        assert row["status"] == "done", phone
    stats = finished["stats"]
    assert stats["attempts"] == sum(len(truth[phone]) for phone in numbers)
    assert stats["by_outcome"]["listened"] == 100


def test_the_readme_walkthrough_with_the_cli(service: Deployment, tmp_path: Path) -> None:
    """`dialer campaign create` on the shipped examples, then the export, as the README says."""
    sample = (EXAMPLES / "customers.csv").read_bytes().decode("cp1251")
    listened = {"causes": ["listened"], "dtmf": "none"}
    cells = ["".join(filter(str.isdigit, line.split(";")[0])) for line in sample.splitlines()[1:]]
    numbers = {"7" + digits[-10:]: listened for digits in cells if len(digits) in (10, 11)}
    rules = {"last_digit": RULES, "numbers": numbers}
    httpx.put(f"{service.sim_url}/_sim/rules", json=rules, timeout=10).raise_for_status()

    connection = ["--url", service.url, "--api-key", service.api_key()]
    runner = CliRunner()
    created = runner.invoke(
        campaign_cli.app,
        [*connection, "create", "--file", str(EXAMPLES / "customers.csv"),
         "--settings", str(EXAMPLES / "campaign.json")],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "accepted 17, duplicates 1, do-not-call 0, rejected 3" in created.output
    assert "listened" in created.output
    campaign_id = created.output.split("campaign ", 1)[1].split()[0]

    target = tmp_path / "results.csv"
    exported = runner.invoke(
        campaign_cli.app, [*connection, "export", campaign_id, "--output", str(target)]
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig")), delimiter=";"))
    assert len(rows) == 17
    assert {row["outcome"] for row in rows} == {"listened"}
    assert {row["name"] for row in rows} >= {"Анна", "Борис", "Фёдор"}

    shown = runner.invoke(campaign_cli.app, [*connection, "show", campaign_id, "--json"])
    assert shown.exit_code == 0, shown.output
    campaign = json.loads(shown.output)
    assert (campaign["name"], campaign["status"]) == ("Order ready (demo)", "completed")
    assert campaign["stats"]["by_outcome"] == {"listened": 17}

    listed = runner.invoke(campaign_cli.app, [*connection, "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{campaign_id} " in listed.output


def test_ctrl_c_stops_everything_and_a_second_up_resumes(service: Deployment) -> None:
    numbers = phones(30, "920")
    unanswered = {phone: {"causes": ["no_answer"]} for phone in numbers}
    rules = {"last_digit": RULES, "numbers": unanswered}
    httpx.put(f"{service.sim_url}/_sim/rules", json=rules, timeout=10).raise_for_status()
    key = service.api_key()
    with api(service) as client:
        body = campaign_body("resumed", redial={"no_answer": [REDIAL_AFTER_STOP]})
        body["contacts"] = [
            {"phone": phone, "vars": {"name": "A", "order": "B"}} for phone in numbers
        ]
        campaign_id = client.post("/v1/campaigns", json=body).raise_for_status().json()["id"]
        client.post(f"/v1/campaigns/{campaign_id}/start").raise_for_status()
        wait_all_scheduled(client, campaign_id, len(numbers))

    family = service.family()
    ports = (service.port, service.sim_port)
    assert len(family) >= 5, "up, redis, simulator, api and worker"
    assert service.interrupt() == 0, service.read_output()
    assert "stopped" in service.read_output()
    assert not [pid for pid in family if alive(pid)]
    assert not [port for port in ports if listening(port)]

    # the new simulator knows nothing of the first run: the redials are answered
    service.rules.write_text(json.dumps(ALL_LISTEN), encoding="utf-8")
    service.start()
    assert service.api_key() == key
    with api(service) as client:
        finished = wait_finished(client, campaign_id)
    stats = finished["stats"]
    assert finished["status"] == "completed"
    assert stats["by_outcome"] == {"listened": len(numbers)}
    assert stats["attempts"] == 2 * len(numbers)


def wait_all_scheduled(client: httpx.Client, campaign_id: int, count: int) -> None:
    """Every first call has ended and every redial is still ahead: no call is in flight."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        campaign = client.get(f"/v1/campaigns/{campaign_id}").raise_for_status().json()
        if campaign["stats"]["by_status"]["scheduled"] == count:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"campaign {campaign_id}: not all redials scheduled: {campaign['stats']}")
        time.sleep(0.2)
