"""The `dialer simulate` command: one CLI option per `SimulatorOptions` knob.

Imports only typer and pydantic models, so registering it in `dialer.shell.cli` keeps `--help` fast;
uvicorn and FastAPI load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from dialer.settings import Settings
from dialer.simulator.options import PlainFormat, SimulatorOptions, load_rules, parse_weights


def _knob(name: str, *flags: str) -> Any:
    """A typer option whose help is the knob's description and default in SimulatorOptions."""
    field = SimulatorOptions.model_fields[name]
    default = field.get_default(call_default_factory=True)
    shown = "" if default is None else f" (default: {getattr(default, 'value', default)})"
    return typer.Option(*flags, help=f"{field.description}{shown}", show_default=False)


def simulate(
    host: Annotated[str | None, _knob("host")] = None,
    port: Annotated[int | None, _knob("port")] = None,
    event_url: Annotated[str | None, _knob("event_url")] = None,
    seed: Annotated[int | None, _knob("seed")] = None,
    time_factor: Annotated[float | None, _knob("time_factor")] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            help="weights of drawn outcomes, e.g. listened=0.6,busy=0.4 (outcomes left out: 0): "
            "listened, hung_up, busy, no_answer, unavailable, rejected, invalid, network",
            show_default=False,
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            help='JSON file of forced outcomes: {"numbers": {"79100000001": {"causes": [17, '
            '"listened"], "dtmf": 3}}, "last_digit": {"1": [17, 16]}}; also PUT /_sim/rules',
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    dtmf_press_rate: Annotated[float | None, _knob("dtmf_press_rate")] = None,
    allow_http_notify: Annotated[
        bool | None, _knob("allow_http_notify", "--allow-http-notify/--https-notify-only")
    ] = None,
    plain_format: Annotated[PlainFormat | None, _knob("plain_format")] = None,
    tts_chars_per_second: Annotated[float | None, _knob("tts_chars_per_second")] = None,
    latency: Annotated[float | None, _knob("latency")] = None,
    error_rate: Annotated[float | None, _knob("error_rate")] = None,
    timeout_rate: Annotated[float | None, _knob("timeout_rate")] = None,
    timeout_delay: Annotated[float | None, _knob("timeout_delay")] = None,
    cps_limit: Annotated[int | None, _knob("cps_limit")] = None,
    duplicate_rate: Annotated[float | None, _knob("duplicate_rate")] = None,
    reorder_rate: Annotated[float | None, _knob("reorder_rate")] = None,
    drop_final_rate: Annotated[float | None, _knob("drop_final_rate")] = None,
    webhook_retries: Annotated[int | None, _knob("webhook_retries")] = None,
    webhook_backoff: Annotated[float | None, _knob("webhook_backoff")] = None,
    webhook_timeout: Annotated[float | None, _knob("webhook_timeout")] = None,
    start_balance: Annotated[float | None, _knob("start_balance")] = None,
    call_price: Annotated[float | None, _knob("call_price")] = None,
    credit_limit: Annotated[float | None, _knob("credit_limit")] = None,
    customer_name: Annotated[str | None, _knob("customer_name")] = None,
    max_records: Annotated[int | None, _knob("max_records")] = None,
) -> None:
    """Run a stand-in for MTT's sb-api that places no real calls and sends webhooks."""
    given: dict[str, Any] = {name: value for name, value in locals().items() if value is not None}
    try:
        if rules is not None:
            given["rules"] = load_rules(rules)
        if weights is not None:
            given["weights"] = parse_weights(weights)
        options = SimulatorOptions.model_validate(given)
    except (ValidationError, ValueError) as exc:
        typer.echo(f"dialer simulate: {exc}", err=True)
        raise typer.Exit(2) from exc
    from dialer.shell.runtime import tune_garbage_collector
    from dialer.simulator.server import run

    run(options, Settings(), tune=tune_garbage_collector)
