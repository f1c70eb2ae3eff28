"""The simulator's own knobs; credentials and URLs come from the shared `Settings`."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Cause = Annotated[int, Field(ge=1, le=127)]
Digit = Annotated[int, Field(ge=1, le=9)]


class Fate(StrEnum):
    """What happens to a call; each maps to the ISUP cause of its final `h` event."""

    LISTENED = "listened"
    HUNG_UP = "hung_up"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    INVALID = "invalid"
    NETWORK = "network"


class PlainFormat(StrEnum):
    """How the `k=v&...` events of the plain method are POSTed; MTT's document is unclear."""

    FORM = "form"
    """Body `k=v&...` as application/x-www-form-urlencoded: what the string most plausibly is."""
    TEXT = "text"
    """The same body as text/plain."""
    DATA = "data"
    """JSON `{"data": "k=v&..."}`, as one example of the reference wraps it."""
    QUERY = "query"
    """Empty body, `k=v&...` in the query string."""


DEFAULT_WEIGHTS: dict[Fate, float] = {
    Fate.LISTENED: 0.55,
    Fate.HUNG_UP: 0.08,
    Fate.BUSY: 0.10,
    Fate.NO_ANSWER: 0.12,
    Fate.UNAVAILABLE: 0.08,
    Fate.REJECTED: 0.03,
    Fate.INVALID: 0.02,
    Fate.NETWORK: 0.02,
}

Step = Cause | Fate
"""One attempt of a scripted number: an outcome name, or a raw cause (16 = listened)."""


class NumberRule(BaseModel):
    """The truth for one number (or one last digit), so tests know what will happen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    causes: list[Step] = Field(
        default_factory=list,
        description="attempt k of the number gets causes[k], the last repeats; empty: drawn",
    )
    dtmf: Digit | Literal["none"] | None = Field(
        default=None,
        description="digit the callee presses on an answered IVR call; 'none': none; null: drawn",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: object) -> object:
        """`[17, 16]` is short for `{"causes": [17, 16]}`."""
        return {"causes": value} if isinstance(value, list) else value


class Rules(BaseModel):
    """Forced outcomes: an explicit number wins over its last digit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numbers: dict[str, NumberRule] = Field(default_factory=dict)
    last_digit: dict[str, NumberRule] = Field(default_factory=dict)

    @field_validator("numbers")
    @classmethod
    def _eleven_digits(cls, value: dict[str, NumberRule]) -> dict[str, NumberRule]:
        for number in value:
            if not re.fullmatch(r"[0-9]{11}", number):
                raise ValueError(f"rule number {number!r} is not 11 digits")
        return value

    @field_validator("last_digit")
    @classmethod
    def _one_digit(cls, value: dict[str, NumberRule]) -> dict[str, NumberRule]:
        for digit in value:
            if not re.fullmatch(r"[0-9]", digit):
                raise ValueError(f"last_digit key {digit!r} is not one digit")
        return value

    def rule_for(self, number: str) -> NumberRule | None:
        return self.numbers.get(number) or self.last_digit.get(number[-1:])


def load_rules(path: Path) -> Rules:
    """Rules from a JSON file; the error names the file."""
    try:
        return Rules.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"rules file {path}: {exc}") from exc


class SimulatorOptions(BaseModel):
    """Every knob of the simulator; simulated durations are multiplied by `time_factor`."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(
        default=None, description="listen address; default: the host of a loopback SB_API_URL"
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="default: the port of SB_API_URL, else 8900"
    )
    event_url: str | None = Field(
        default=None, description="where o/h events go; default: the settings' event URL"
    )
    seed: int = Field(default=0, description="seed of every random draw")
    time_factor: float = Field(
        default=1.0, gt=0, description="multiplies simulated delays (0.01: 100 times faster)"
    )
    weights: dict[Fate, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="relative weights of drawn outcomes",
    )
    rules: Rules = Field(default_factory=Rules, description="forced outcomes per number")
    dtmf_press_rate: Rate = Field(
        default=0.3, description="chance a listening IVR callee presses a menu digit"
    )
    allow_http_notify: bool = Field(
        default=True, description="accept http:// notify URLs (MTT demands https)"
    )
    plain_format: PlainFormat = Field(
        default=PlainFormat.FORM, description="body of plain-method events"
    )
    tts_chars_per_second: float = Field(
        default=14.0, gt=0, description="TTS speed at speed_speech 1.0"
    )
    latency: float = Field(default=0.0, ge=0, description="seconds added to each sb-api answer")
    error_rate: Rate = Field(default=0.0, description="share of requests answered 503 unprocessed")
    timeout_rate: Rate = Field(
        default=0.0, description="share of accepted calls whose answer is held past the client"
    )
    timeout_delay: float | None = Field(
        default=None, gt=0, description="seconds such an answer is held; default sb_timeout + 5"
    )
    cps_limit: int | None = Field(
        default=None, ge=1, description="requests per sliding second; over it: HTTP 429"
    )
    duplicate_rate: Rate = Field(default=0.0, description="share of webhooks sent twice")
    reorder_rate: Rate = Field(
        default=0.0, description="share of calls whose final event is sent before the o event"
    )
    drop_final_rate: Rate = Field(
        default=0.0, description="share of calls whose final h event is never sent"
    )
    webhook_retries: int = Field(
        default=3, ge=0, description="redeliveries after a failed webhook (non-2xx, no connect)"
    )
    webhook_backoff: float = Field(
        default=2.0, gt=0, description="simulated seconds before the first redelivery, doubling"
    )
    webhook_timeout: float = Field(default=5.0, gt=0, description="seconds to wait for receivers")
    start_balance: float = Field(default=1000.0, description="balance before any call")
    call_price: float = Field(default=1.5, ge=0, description="charged per answered call")
    credit_limit: float = Field(default=0.0, ge=0, description="real_balance = balance + this")
    customer_name: str | None = Field(
        default=None, description="the account getCustomerBalance knows; default: any"
    )
    max_records: int = Field(default=100_000, ge=1, description="calls and requests kept")

    @field_validator("weights")
    @classmethod
    def _usable_weights(cls, value: dict[Fate, float]) -> dict[Fate, float]:
        bad = {str(k): w for k, w in value.items() if w < 0}
        if bad:
            raise ValueError(f"negative outcome weights: {bad}")
        if not any(value.values()):
            raise ValueError("outcome weights sum to zero")
        return value


def parse_weights(text: str) -> dict[Fate, float]:
    """`listened=0.6,busy=0.2` as outcome weights; outcomes left out get none."""
    weights: dict[Fate, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        try:
            weights[Fate(name.strip())] = float(value)
        except ValueError:
            known = ", ".join(outcome.value for outcome in Fate)
            raise ValueError(
                f"weight {item!r}: expected <outcome>=<number>, outcomes: {known}"
            ) from None
    return weights
