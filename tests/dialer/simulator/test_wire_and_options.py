"""Wire forms of events, and the parsing of knobs and rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from dialer.simulator.options import (
    Fate,
    NumberRule,
    PlainFormat,
    Rules,
    SimulatorOptions,
    load_rules,
    parse_weights,
)
from dialer.simulator.wire import encode, mtt_time

FIELDS = {
    "date_time": "2019-03-29-11-37-13",
    "id": "1255490",
    "CallID": "00035c7d92bb0971",
    "event": "o_79100000000",
}
KV = "date_time=2019-03-29-11-37-13&id=1255490&CallID=00035c7d92bb0971&event=o_79100000000"


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (datetime(2019, 3, 29, 8, 37, 13, tzinfo=UTC), "2019-03-29-11-37-13"),
        (datetime(2019, 12, 31, 22, 0, 0, tzinfo=UTC), "2020-01-01-01-00-00"),
        (
            datetime(2019, 3, 29, 9, 37, 13, tzinfo=timezone(timedelta(hours=1))),
            "2019-03-29-11-37-13",
        ),
    ],
)
def test_date_time_is_moscow_time(at: datetime, text: str) -> None:
    assert mtt_time(at) == text


@pytest.mark.parametrize(
    ("plain", "url", "content", "content_type"),
    [
        (PlainFormat.FORM, "http://r/e", KV.encode(), "application/x-www-form-urlencoded"),
        (PlainFormat.TEXT, "http://r/e", KV.encode(), "text/plain; charset=utf-8"),
        (PlainFormat.DATA, "http://r/e", json.dumps({"data": KV}).encode(), "application/json"),
        (PlainFormat.QUERY, f"http://r/e?{KV}", b"", None),
    ],
)
def test_plain_events_are_a_key_value_string_in_the_chosen_envelope(
    plain: PlainFormat, url: str, content: bytes, content_type: str | None
) -> None:
    wire = encode("http://r/e", FIELDS, ivr=False, plain=plain)
    assert (wire.url, wire.content, wire.content_type) == (url, content, content_type)


def test_query_form_appends_to_an_existing_query() -> None:
    assert encode("http://r/e?t=1", FIELDS, ivr=False, plain=PlainFormat.QUERY).url == (
        f"http://r/e?t=1&{KV}"
    )


def test_ivr_events_are_json_objects_in_field_order() -> None:
    fields = FIELDS | {"dtmf": "3", "type": "transfer"}
    wire = encode("http://r/e", fields, ivr=True, plain=PlainFormat.QUERY)
    assert wire.content_type == "application/json"
    assert list(json.loads(wire.content).items()) == list(fields.items())


def test_rules_take_bare_lists_names_and_causes() -> None:
    rules = Rules.model_validate(
        {"last_digit": {"1": [17, 16]}, "numbers": {"79100000002": {"causes": ["busy"], "dtmf": 3}}}
    )
    assert rules.last_digit["1"] == NumberRule(causes=[17, 16])
    assert rules.numbers["79100000002"] == NumberRule(causes=[Fate.BUSY], dtmf=3)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"numbers": {"7910": []}}, "'7910' is not 11 digits"),
        ({"last_digit": {"12": []}}, "'12' is not one digit"),
        ({"last_digit": {"1": ["sleepy"]}}, "sleepy"),
        ({"last_digit": {"1": [0]}}, "greater than or equal to 1"),
        ({"last_digit": {"1": {"dtmf": 0}}}, "dtmf"),
        ({"digits": {}}, "digits"),
    ],
)
def test_bad_rules_name_the_value(doc: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Rules.model_validate(doc)


def test_load_rules_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "rules.json"
    good.write_text(json.dumps({"last_digit": {"5": ["unavailable"]}}))
    assert load_rules(good).last_digit["5"] == NumberRule(causes=[Fate.UNAVAILABLE])
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match=r"bad\.json"):
        load_rules(bad)
    with pytest.raises(ValueError, match=r"missing\.json"):
        load_rules(tmp_path / "missing.json")


def test_parse_weights() -> None:
    assert parse_weights("listened=0.6, busy=0.4,") == {
        Fate.LISTENED: 0.6,
        Fate.BUSY: 0.4,
    }
    with pytest.raises(ValueError, match="'sleepy=1'"):
        parse_weights("sleepy=1")
    with pytest.raises(ValueError, match="'busy=lots'"):
        parse_weights("busy=lots")


@pytest.mark.parametrize(
    "weights",
    [{"busy": -1.0, "listened": 1.0}, {"busy": 0.0}],
    ids=["negative", "all zero"],
)
def test_unusable_weights_are_refused(weights: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="weights"):
        SimulatorOptions.model_validate({"weights": weights})


@pytest.mark.parametrize("knob", ["error_rate", "timeout_rate", "duplicate_rate"])
def test_rates_are_between_0_and_1(knob: str) -> None:
    with pytest.raises(ValidationError, match=knob):
        SimulatorOptions.model_validate({knob: 1.5})
