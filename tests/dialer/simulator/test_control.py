"""The `/_sim/*` routes, the lifespan, the listen address and the `dialer simulate` command."""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from dialer.settings import Settings
from dialer.shell.simulate_cli import simulate
from dialer.simulator import server
from dialer.simulator.options import Fate, PlainFormat, SimulatorOptions
from dialer.simulator.server import listen_address
from tests.dialer.simulator.harness import http_client, plain_body, start_rig

NUMBER = "79100000004"


async def test_rules_can_be_replaced_at_runtime() -> None:
    async with start_rig(rules={"last_digit": {"4": ["busy"]}}) as rig:
        await rig.post(plain_body(messId="1", b_number=NUMBER))
        put = await rig.http.put("/_sim/rules", json={"numbers": {NUMBER: ["rejected"]}})
        await rig.post(plain_body(messId="2", b_number=NUMBER))
        shown = (await rig.http.get("/_sim/rules")).json()
        bad = await rig.http.put("/_sim/rules", json={"numbers": {"123": ["busy"]}})
        outcomes = [(c["attempt"], c["outcome"]) for c in await rig.calls()]
    assert put.status_code == 200
    assert shown["numbers"] == {NUMBER: {"causes": ["rejected"], "dtmf": None}}
    assert bad.status_code == 422
    assert "'123' is not 11 digits" in bad.text
    assert outcomes == [(0, "busy"), (1, "rejected")]


async def test_calls_and_requests_record_everything_with_counts_per_mess_id() -> None:
    async with start_rig() as rig:
        first = (await rig.post(plain_body(messId="77"))).json()
        second = (await rig.post(plain_body(messId="77"))).json()
        await rig.post(plain_body(messId="78", b_number="1"))
        await rig.http.post("/v1/sb", content=b"not json")
        await rig.http.post("/v1/sb", content=b'{"method": "inform", "data": {"messId": NaN}}')
        await rig.sim.idle()
        calls = (await rig.http.get("/_sim/calls")).json()
        requests = (await rig.http.get("/_sim/requests")).json()["requests"]
    assert calls["requests_per_mess_id"] == {"77": 2, "78": 1}
    assert [c["call_id"] for c in calls["calls"]] == [first["CallID"], second["CallID"]]
    record = calls["calls"][0]
    assert set(record) >= {
        "mess_id",
        "call_id",
        "b_number",
        "a_number",
        "method",
        "outcome",
        "cause",
        "forced",
        "duration",
        "dtmf",
        "received_at",
        "webhooks",
    }
    assert {w["status"] for w in record["webhooks"]} == {"delivered"}
    assert [(r["status"], r["answer"].get("result", {}).get("success")) for r in requests] == [
        (200, 1),
        (200, 1),
        (200, 0),
        (200, None),
        (200, None),
    ]
    assert requests[3]["body"] == "not json"
    assert requests[3]["answer"] == requests[4]["answer"] == {"message": "access forbidden"}


async def test_reset_forgets_everything_and_cancels_calls_in_flight() -> None:
    async with start_rig(time_factor=1.0, rules={"numbers": {NUMBER: ["busy", "listened"]}}) as rig:
        await rig.post(plain_body(b_number=NUMBER))
        await rig.http.put("/_sim/rules", json={})
        pending = (await rig.http.get("/_sim/stats")).json()["pending_tasks"]
        reset = await rig.http.post("/_sim/reset")
        stats = (await rig.http.get("/_sim/stats")).json()
        calls = (await rig.http.get("/_sim/calls")).json()
        rules = (await rig.http.get("/_sim/rules")).json()
    assert (pending, reset.status_code) == (1, 204)
    assert (stats["requests"], stats["accepted"], stats["pending_tasks"]) == (0, 0, 0)
    assert calls == {"calls": [], "requests_per_mess_id": {}}
    assert rules["numbers"] == {NUMBER: {"causes": ["busy", "listened"], "dtmf": None}}
    assert rig.receiver.hits == []


async def test_idle_route_waits_for_scheduled_webhooks() -> None:
    async with start_rig(time_factor=0.1, rules={"last_digit": {"0": ["busy"]}}) as rig:
        await rig.post(plain_body())
        short = (await rig.http.post("/_sim/idle", params={"wait": 0.001})).json()
        done = (await rig.http.post("/_sim/idle", params={"wait": 5})).json()
    assert short == {"idle": False, "pending_tasks": 1}
    assert done == {"idle": True, "pending_tasks": 0}
    assert len(rig.receiver.hits) >= 2


async def test_stopping_with_calls_in_flight_cancels_them_promptly() -> None:
    started = time.monotonic()
    async with start_rig(time_factor=1.0) as rig:
        for index in range(5):
            await rig.post(plain_body(messId=str(index)))
        assert len(rig.sim.tasks) == 5
        sim = rig.sim
    assert len(sim.tasks) == 0
    assert time.monotonic() - started < 3


async def test_oldest_records_go_beyond_max_records() -> None:
    async with start_rig(max_records=2) as rig:
        for index in range(3):
            await rig.post(plain_body(messId=str(index)))
        calls = await rig.calls()
        requests = (await rig.http.get("/_sim/requests")).json()["requests"]
    assert [c["mess_id"] for c in calls] == ["1", "2"]
    assert len(requests) == 2


async def test_without_a_login_configured_any_caller_is_let_in() -> None:
    async with (
        start_rig({"sb_login": None}) as rig,
        http_client(base_url=rig.url) as anonymous,
    ):
        answer = await anonymous.post("/v1/sb", json=plain_body())
    assert answer.json()["result"] == {"success": 1}


def settings(url: str) -> Settings:
    return Settings(_env_file=None, sb_api_url=url, sb_password=SecretStr("x"))


@pytest.mark.parametrize(
    ("url", "host", "port", "expected"),
    [
        ("http://127.0.0.1:8911/v1/sb", None, None, ("127.0.0.1", 8911)),
        ("http://localhost:8912/v1/sb", None, None, ("localhost", 8912)),
        ("https://sb-api.mtt.ru/v1/sb", None, None, ("127.0.0.1", 8900)),
        ("http://127.0.0.1/v1/sb", None, None, ("127.0.0.1", 8900)),
        ("http://127.0.0.1:8911/v1/sb", "0.0.0.0", 9000, ("0.0.0.0", 9000)),  # noqa: S104
    ],
)
def test_listen_address_follows_a_loopback_sb_api_url(
    url: str, host: str | None, port: int | None, expected: tuple[str, int]
) -> None:
    assert listen_address(settings(url), SimulatorOptions(host=host, port=port)) == expected


def test_every_knob_is_a_cli_option() -> None:
    assert set(inspect.signature(simulate).parameters) == set(SimulatorOptions.model_fields)


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(simulate)

    @app.command()
    def other() -> None:
        """Keeps `simulate` a subcommand, as in dialer.shell.cli."""

    return app


def test_the_command_builds_options_and_runs(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[tuple[SimulatorOptions, Settings]] = []
    monkeypatch.setattr(
        server, "run", lambda options, settings, tune: ran.append((options, settings))
    )
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"last_digit": {"1": [17, 16]}}))
    args = [
        "simulate",
        "--seed",
        "9",
        "--time-factor",
        "0.5",
        "--rules",
        str(rules),
        "--weights",
        "busy=1",
        "--https-notify-only",
        "--plain-format",
        "query",
        "--cps-limit",
        "20",
        "--drop-final-rate",
        "0.1",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    ((options, _),) = ran
    expected: dict[str, Any] = {
        "seed": 9,
        "time_factor": 0.5,
        "weights": {Fate.BUSY: 1.0},
        "allow_http_notify": False,
        "plain_format": PlainFormat.QUERY,
        "cps_limit": 20,
        "drop_final_rate": 0.1,
        "latency": 0.0,
    }
    assert {name: getattr(options, name) for name in expected} == expected
    assert options.rules.last_digit["1"].causes == [17, 16]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weights", "loud=1"], "'loud=1'"),
        (["--error-rate", "2"], "error_rate"),
    ],
)
def test_the_command_refuses_bad_knobs(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setattr(server, "run", lambda options, settings, tune: pytest.fail("must not run"))
    result = CliRunner().invoke(cli, ["simulate", *args])
    assert result.exit_code == 2
    assert message in result.output
