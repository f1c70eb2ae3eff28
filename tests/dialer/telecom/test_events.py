from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from types import MappingProxyType
from urllib.parse import quote, urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dialer.telecom.events import (
    MOSCOW,
    EventKind,
    EventParseError,
    Leg,
    MttEvent,
    ParsedBody,
    parse_body,
)

FORM = "application/x-www-form-urlencoded"
CALL = "00035c7d92bb0971"


def fields(
    event: str,
    *,
    date_time: str = "2019-03-29-11-37-13",
    call_id: str = CALL,
    dtmf: str | None = None,
    type_: str | None = None,
) -> dict[str, str]:
    """An event's key/values in MTT's order."""
    record = {"date_time": date_time, "id": "1255490", "CallID": call_id}
    if dtmf is not None:
        record["dtmf"] = dtmf
    if type_ is not None:
        record["type"] = type_
    return {**record, "event": event}


def kv(record: dict[str, str]) -> str:
    return "&".join(f"{key}={value}" for key, value in record.items())


def event(record: dict[str, str], **parsed: object) -> MttEvent:
    """The MttEvent expected for `record`; `parsed` gives the values read from the event string."""
    values: dict[str, object] = {
        "leg": Leg.CALLEE,
        "mess_id": record.get("id"),
        "call_id": record.get("CallID"),
        "cause": None,
        "duration": None,
        "digit": None,
        "occurred_at": None,
        **parsed,
    }
    return MttEvent(fields=MappingProxyType(record), **values)  # type: ignore[arg-type]


def moscow(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=MOSCOW)


def parse_one(body: str | bytes, content_type: str | None = None) -> MttEvent:
    raw = body.encode() if isinstance(body, str) else body
    (parsed,) = parse_body(raw, content_type, {}).events
    return parsed


# Every event example of the reference, as printed (plain calls in braces, IVR calls as JSON).
PLAIN_EXAMPLES = [
    (
        '{"date_time=2019-03-29-11-37-13&id=1255490&CallID=00035c7d92bb0971&event=o_7910000000"},',
        "braced_string",
        (EventKind.ORIGINATE, "7910000000", None, None, moscow(2019, 3, 29, 11, 37, 13)),
    ),
    (
        '{"date_time=2019-03-29-11-37-27&id=1255490&CallID=00035c7d92bb0971&event=h_7910000000_16_4"}',
        "braced_string",
        (EventKind.HANGUP, "7910000000", 16, 4, moscow(2019, 3, 29, 11, 37, 27)),
    ),
    (
        '{"date_time=2019-03-29-09-33-46&id=1255490&CallID=00035c7d92bb0935&event=o_7910000000"},',
        "braced_string",
        (EventKind.ORIGINATE, "7910000000", None, None, moscow(2019, 3, 29, 9, 33, 46)),
    ),
    (
        '{"date_time=2019-03-29-09-33-53&id=1255490&CallID=00035c7d92bb0935&event=h_7910000000_17_0"}',
        "braced_string",
        (EventKind.HANGUP, "7910000000", 17, 0, moscow(2019, 3, 29, 9, 33, 53)),
    ),
    (
        '{"data":{"date_time=2019-03-29-09-41-18&id=1255490&CallID=00035c7d92bb093b'
        '&event=o_7910000000"}},',
        "data_braced",
        (EventKind.ORIGINATE, "7910000000", None, None, moscow(2019, 3, 29, 9, 41, 18)),
    ),
    (
        '{"date_time=2019-03-29-09-41-38&id=1255490&CallID=00035c7d92bb093b&event=h_7910000000_20_0"}',
        "braced_string",
        (EventKind.HANGUP, "7910000000", 20, 0, moscow(2019, 3, 29, 9, 41, 38)),
    ),
]


@pytest.mark.parametrize(("body", "fmt", "expected"), PLAIN_EXAMPLES)
def test_plain_call_examples_of_the_reference(
    body: str, fmt: str, expected: tuple[EventKind, str, int | None, int | None, datetime]
) -> None:
    parsed = parse_body(body.encode(), None, {})
    (got,) = parsed.events
    assert parsed.format == fmt
    assert (got.kind, got.number, got.cause, got.duration, got.occurred_at) == expected
    assert (got.mess_id, got.leg, got.digit) == ("1255490", Leg.CALLEE, None)
    assert got.call_id is not None
    assert got.call_id.startswith("00035c7d92bb09")


def test_a_printed_block_of_two_braced_events_gives_both_in_order() -> None:
    block = PLAIN_EXAMPLES[0][0] + "\n" + PLAIN_EXAMPLES[1][0]
    parsed = parse_body(block.encode(), "text/plain", {})
    assert parsed.format == "braced_string"
    assert [e.kind for e in parsed.events] == [EventKind.ORIGINATE, EventKind.HANGUP]


IVR_EXAMPLES = [
    (fields("o_79103880489"), {"kind": EventKind.ORIGINATE}),
    (
        fields("h_79103880489_16_4", date_time="2019-03-29-11-37-20"),
        {"kind": EventKind.HANGUP, "cause": 16, "duration": 4},
    ),
    (
        fields("h_79103880489_17_0", date_time="2019-03-29-11-37-15"),
        {"kind": EventKind.HANGUP, "cause": 17, "duration": 0},
    ),
    (
        fields("h_79103880489_20_0", date_time="2019-03-29-11-37-20"),
        {"kind": EventKind.HANGUP, "cause": 20, "duration": 0},
    ),
    (
        fields("o_78001000101", date_time="2019-03-29-11-38-00", dtmf="2", type_="transfer"),
        {"kind": EventKind.ORIGINATE, "leg": Leg.TRANSFER, "digit": 2},
    ),
    (
        fields("h_78001000101_16_30", date_time="2019-03-29-11-38-00", dtmf="2", type_="transfer"),
        {"kind": EventKind.HANGUP, "leg": Leg.TRANSFER, "digit": 2, "cause": 16, "duration": 30},
    ),
    (
        fields("n_79103880489", dtmf="1", type_="notify"),
        {"kind": EventKind.NOTIFY, "digit": 1},
    ),
    (
        fields("n_79103880489", dtmf="null", type_="notify"),
        {"kind": EventKind.NOTIFY, "digit": None},
    ),
    (
        fields("o_74997090111", date_time="2019-03-29-11-37-55", dtmf="3", type_="transfer"),
        {"kind": EventKind.ORIGINATE, "leg": Leg.TRANSFER, "digit": 3},
    ),
    (
        fields("h_74997090111_16_30", date_time="2019-03-29-11-38-45", dtmf="3", type_="transfer"),
        {"kind": EventKind.HANGUP, "leg": Leg.TRANSFER, "digit": 3, "cause": 16, "duration": 30},
    ),
    (
        fields("h_79103880489_16_50", date_time="2019-03-29-11-37-20"),
        {"kind": EventKind.HANGUP, "cause": 16, "duration": 50},
    ),
]


@pytest.mark.parametrize(("record", "parsed"), IVR_EXAMPLES)
def test_ivr_examples_of_the_reference(record: dict[str, str], parsed: dict[str, object]) -> None:
    number = record["event"].split("_")[1]
    when = datetime.strptime(record["date_time"], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=MOSCOW)
    expected = event(record, number=number, occurred_at=when, **parsed)
    assert parse_body(json.dumps(record, indent=2).encode(), "application/json", {}) == (
        ParsedBody("json", (expected,))
    )


def test_the_full_ivr_example_as_a_list_keeps_order_and_legs() -> None:
    records = [IVR_EXAMPLES[i][0] for i in (0, 8, 9, 10)]  # section 3 of the reference
    parsed = parse_body(json.dumps(records).encode(), "application/json", {})
    assert parsed.format == "json_list"
    assert [(e.kind, e.leg) for e in parsed.events] == [
        (EventKind.ORIGINATE, Leg.CALLEE),
        (EventKind.ORIGINATE, Leg.TRANSFER),
        (EventKind.HANGUP, Leg.TRANSFER),
        (EventKind.HANGUP, Leg.CALLEE),
    ]


HANGUP = fields("h_79103880489_16_4")


def hangup_expected() -> MttEvent:
    return event(
        HANGUP,
        kind=EventKind.HANGUP,
        number="79103880489",
        cause=16,
        duration=4,
        occurred_at=moscow(2019, 3, 29, 11, 37, 13),
    )


TRANSPORTS = [
    ("json", json.dumps(HANGUP), "application/json", {}),
    ("json", "\ufeff" + json.dumps(HANGUP) + "\n", "application/json; charset=utf-8", {}),
    ("json_list", json.dumps([HANGUP]), "application/json", {}),
    ("data_object", json.dumps({"data": HANGUP}), "application/json", {}),
    ("data_string", json.dumps({"data": kv(HANGUP)}), "application/json", {}),
    ("braced_string", "{" + json.dumps(kv(HANGUP)) + "}", "application/json", {}),
    ("braced_string", "{ " + kv(HANGUP) + " }", None, {}),
    ("data_braced", '{"data": {' + json.dumps(kv(HANGUP)) + "}}", None, {}),
    ("kv", kv(HANGUP), "text/plain", {}),
    ("kv", " " + kv(HANGUP) + "&\r\n", None, {}),
    ("form", urlencode(HANGUP), FORM, {}),
    ("form", urlencode({"data": kv(HANGUP)}), FORM, {}),
    ("form", urlencode({"data": json.dumps(HANGUP)}), f"{FORM}; charset=UTF-8", {}),
    ("form", "data=" + quote("{" + json.dumps(kv(HANGUP)) + "}"), FORM, {}),
    ("query", "", None, HANGUP),
    ("query", "  ", FORM, {"data": kv(HANGUP)}),
]


@pytest.mark.parametrize(("fmt", "body", "content_type", "query"), TRANSPORTS)
def test_every_transport_gives_the_same_event(
    fmt: str, body: str, content_type: str | None, query: dict[str, str]
) -> None:
    assert parse_body(body.encode(), content_type, query) == ParsedBody(
        fmt,  # type: ignore[arg-type]
        (hangup_expected(),),
    )


def test_query_is_ignored_when_there_is_a_body() -> None:
    parsed = parse_body(json.dumps(HANGUP).encode(), None, {"event": "o_1", "id": "9"})
    assert parsed.events == (hangup_expected(),)


def test_json_scalars_are_read_as_text() -> None:
    got = parse_one(json.dumps({"id": 1255490, "event": "n_791", "dtmf": 3, "x": [1, None]}))
    assert (got.mess_id, got.digit, got.call_id) == ("1255490", 3, None)
    assert dict(got.fields) == {"id": "1255490", "event": "n_791", "dtmf": "3", "x": "[1,null]"}


def test_json_null_dtmf_is_no_digit() -> None:
    assert parse_one(json.dumps({"CallID": CALL, "event": "n_791", "dtmf": None})).digit is None


def test_field_names_are_matched_ignoring_case_and_wrapper_fields_are_kept() -> None:
    got = parse_one(json.dumps({"data": {"CALLID": CALL, "Event": " o_791 "}, "site": "a"}))
    assert (got.call_id, got.kind, got.number) == (CALL, EventKind.ORIGINATE, "791")
    assert got.fields["site"] == "a"


@pytest.mark.parametrize(
    ("date_time", "expected"),
    [
        ("2019-03-29-11-37-13", moscow(2019, 3, 29, 11, 37, 13)),
        ("2019-12-31-23-59-59", moscow(2019, 12, 31, 23, 59, 59)),
        ("1558613711", moscow(2019, 5, 23, 15, 15, 11)),  # the reference's own epoch example
        ("null", None),
        ("", None),
    ],
)
def test_date_time_is_moscow_time(date_time: str, expected: datetime | None) -> None:
    got = parse_one(kv(fields("o_791", date_time=date_time)))
    assert got.occurred_at == expected
    if got.occurred_at is not None:
        assert got.occurred_at.utcoffset() == timedelta(hours=3)


def test_missing_date_time_is_none() -> None:
    assert parse_one("id=1&event=o_791").occurred_at is None


def key(body: str, content_type: str | None = None) -> str:
    return parse_one(body, content_type).dedup_key


def test_dedup_key_is_the_same_for_one_event_in_every_format() -> None:
    keys = {parse_body(b.encode(), ct, q).events[0].dedup_key for _, b, ct, q in TRANSPORTS}
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (fields("h_791_16_4"), fields("h_791_16_4")),
        (fields("h_791_16_4"), fields("h_791_16_4", date_time="2019-03-29-11-40-00")),
        (fields("o_791", date_time="2019-05-23-15-15-11"), fields("o_791", date_time="1558613711")),
        (fields("o_791", call_id=CALL), fields("o_791", call_id=CALL.upper())),
        (fields("n_791", dtmf="null"), fields("n_791", dtmf="null", type_="notify")),
    ],
)
def test_dedup_key_is_equal_for_the_same_event(
    first: dict[str, str], second: dict[str, str]
) -> None:
    assert key(json.dumps(first)) == key(kv(second))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (fields("o_791"), fields("h_791_16_4")),
        (fields("h_791_16_4"), fields("h_791_17_4")),
        (fields("h_791_16_4"), fields("h_791_16_5")),
        (fields("o_791"), fields("o_792")),
        (fields("n_791", dtmf="1"), fields("n_791", dtmf="2")),
        (fields("n_791", dtmf="1"), fields("n_791", dtmf="null")),
        (fields("o_791"), fields("o_791", dtmf="3", type_="transfer")),
        (fields("o_791"), fields("o_791", call_id="00035c7d92bb0972")),
        (fields("o_791"), {**fields("o_791"), "id": "1255491"}),
    ],
)
def test_dedup_key_differs_for_different_events(
    first: dict[str, str], second: dict[str, str]
) -> None:
    assert key(json.dumps(first)) != key(json.dumps(second))


def ivr(event_text: str, **extra: str) -> str:
    return json.dumps({"id": "1", "CallID": CALL, "event": event_text, **extra})


@pytest.mark.parametrize(
    ("body", "content_type", "query", "message"),
    [
        (b"", None, {}, "empty body and no query parameters"),
        (b"\xef\xbb\xbf \n", None, {}, "empty body"),
        (b'{"id": "\xff"}', None, {}, "not UTF-8: invalid start byte at byte 8"),
        (b"[]", None, {}, "JSON list is empty"),
        (b"[1", None, {}, "neither valid JSON"),
        (b'{"id": 1,}', None, {}, "neither valid JSON"),
        (b'"o_791"', None, {}, "is not name=value"),
        (b"5", "application/json", {}, "'5' is not name=value"),
        (b"[5]", None, {}, "item 0 of the JSON list is a number, expected an object"),
        (b'[{"id": "1", "event": "o_7"}, "x"]', None, {}, "item 1 of the JSON list is a string"),
        (f"[{ivr('o_7')}, {ivr('x_7')}]".encode(), None, {}, "event 1 of 2 (json_list):"),
        (b'{"data": 5}', None, {}, "field 'data' is a number '5'"),
        (b'{"data": " "}', None, {}, "field 'data' is a string"),
        (b'{"data": {"data": {"data": {"data": {}}}}}', None, {}, "nested more than 3"),
        (b"{abc}", None, {}, "k=v segment 'abc' is not name=value"),
        (b"id=1&=2&event=o_7", FORM, {}, "'=2' is not name=value"),
        (b"id=%ff&event=o_7", FORM, {}, "%-escapes that are not UTF-8"),
        (b"id=1&id=2&event=o_7", None, {}, "field 'id' given twice: '1' and '2'"),
        (b'{"ID": "1", "id": "2", "event": "o_7"}', None, {}, "given twice with different"),
        (b"&&", None, {}, "has no fields"),
        (b"id=1&CallID=2", None, {}, "missing field 'event' (fields: CallID, id)"),
        (ivr("null").encode(), None, {}, "missing field 'event'"),
        (b"event=o_791&type=transfer", None, {}, "neither 'id' nor 'CallID'"),
        (b"id=null&CallID=&event=o_791", None, {}, "neither 'id' nor 'CallID'"),
        (b"id=1 2&event=o_791", None, {}, "field 'id' value '1 2' is not 1..128 printable"),
        (ivr("o_791", CallID="ab\x00").encode(), None, {}, "contains NUL"),
        (b'{"id": "\\ud800", "event": "o_7"}', None, {}, "unpaired surrogate"),
        (ivr("x_791").encode(), None, {}, "unknown event letter 'x' (expected o, h or n)"),
        (ivr("s_791").encode(), None, {}, "unknown event letter 's'"),
        (ivr("O_791").encode(), None, {}, "unknown event letter 'O'"),
        (ivr("o791").encode(), None, {}, "'o791' is not o_<number> or h_<number>_<cause>"),
        (ivr("o_791_16_4").encode(), None, {}, "'o_791_16_4' is not o_<number>"),
        (ivr("n_791_1").encode(), None, {}, "is not n_<number>"),
        (ivr("h_791_16").encode(), None, {}, "is not h_<number>_<cause>_<duration>"),
        (ivr("o_").encode(), None, {}, "number '' is not 1..15 digits"),
        (ivr("o_+791").encode(), None, {}, "number '+791' is not"),
        (ivr("o_٧٩١").encode(), None, {}, "number '٧٩١' is not"),
        (ivr("o_1234567890123456").encode(), None, {}, "is not 1..15 digits"),
        (ivr("h_791_-16_4").encode(), None, {}, "cause '-16' is not a non-negative whole"),
        (ivr("h_791_16_-4").encode(), None, {}, "duration '-4' is not a non-negative whole"),
        (ivr("h_791_16_4.5").encode(), None, {}, "duration '4.5' is not"),
        (ivr("h_791_16_²").encode(), None, {}, "duration '²' is not"),
        (ivr("h_791_128_4").encode(), None, {}, "cause 128 is out of range 0..127"),
        (ivr("h_791_16_86401").encode(), None, {}, "duration 86401 is out of range 0..86400"),
        (ivr("h_791_16_9" * 3).encode(), None, {}, "is not h_<number>"),
        (ivr("h_791_16_" + "9" * 40).encode(), None, {}, "is out of range 0..86400"),
        (ivr("n_791", dtmf="0").encode(), None, {}, "field 'dtmf' value '0' is not a digit"),
        (ivr("n_791", dtmf="12").encode(), None, {}, "field 'dtmf' value '12'"),
        (ivr("n_791", dtmf="один").encode(), None, {}, "field 'dtmf' value 'один'"),
        (ivr("n_791", type="transfer").encode(), None, {}, "cannot be type=transfer"),
        (ivr("o_7", date_time="2019-13-01-00-00-00").encode(), None, {}, "month must be in"),
        (ivr("o_7", date_time="2019-03-29 11:37:13").encode(), None, {}, "'date_time' value"),
        (ivr("o_7", date_time="2019").encode(), None, {}, "is not YYYY-MM-DD-HH-MM-SS"),
        (b"[" * 100_000, None, {}, "body is nested too deeply"),
    ],
)
def test_errors_name_the_field_and_value(
    body: bytes, content_type: str | None, query: dict[str, str], message: str
) -> None:
    with pytest.raises(EventParseError, match=re.escape(message)):
        parse_body(body, content_type, query)


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(EventParseError) as caught:
        parse_body(ivr("x" * 10_000).encode(), None, {})
    assert len(str(caught.value)) < 300


CONTENT_TYPES = st.one_of(
    st.none(), st.sampled_from(["application/json", FORM, f"{FORM}; charset=utf-8"]), st.text()
)
QUERIES = st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=4)


def parses_or_rejects(body: bytes, content_type: str | None, query: dict[str, str]) -> None:
    try:
        parsed = parse_body(body, content_type, query)
    except EventParseError:
        return
    assert parsed.events
    assert all(len(e.dedup_key) == 64 for e in parsed.events)


@given(st.binary(max_size=300), CONTENT_TYPES, QUERIES)
def test_arbitrary_bytes_parse_or_raise_event_parse_error(
    body: bytes, content_type: str | None, query: dict[str, str]
) -> None:
    parses_or_rejects(body, content_type, query)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["data", "event", "id", "dtmf", "x"]), children)
    ),
    max_leaves=12,
)
NUMBERS = st.from_regex(r"\A[0-9]{1,15}\Z")
VALID_EVENT = st.one_of(
    st.builds("o_{}".format, NUMBERS),
    st.builds("n_{}".format, NUMBERS),
    st.builds("h_{}_{}_{}".format, NUMBERS, st.integers(0, 127), st.integers(0, 86_400)),
)
EVENT_TEXT = VALID_EVENT | st.from_regex(r"\A[ohnx]_[0-9+\-]{0,16}(_-?[0-9]{1,6}){0,3}\Z")
KEY = st.sampled_from(["id", "CallID", "event", "dtmf", "type", "date_time", "data", "ID"])


@given(JSON_VALUES, CONTENT_TYPES, QUERIES)
def test_arbitrary_json_parses_or_raises_event_parse_error(
    value: object, content_type: str | None, query: dict[str, str]
) -> None:
    parses_or_rejects(json.dumps(value).encode(), content_type, query)


@given(st.dictionaries(KEY, EVENT_TEXT | st.text(max_size=25), max_size=7), CONTENT_TYPES)
def test_event_like_records_parse_or_raise_in_every_wrapping(
    record: dict[str, str], content_type: str | None
) -> None:
    for body in (json.dumps(record), urlencode(record), "{" + kv(record) + "}", kv(record)):
        parses_or_rejects(body.encode("utf-8", "surrogatepass"), content_type, {})
    parses_or_rejects(b"", None, record)


@given(VALID_EVENT, st.sampled_from(["1", "5", "null"]), st.sampled_from(["transfer", "notify"]))
def test_a_valid_event_has_one_dedup_key_as_json_and_as_kv(
    event_text: str, dtmf: str, type_: str
) -> None:
    assume(not (event_text.startswith("n_") and type_ == "transfer"))
    record = fields(event_text, dtmf=dtmf, type_=type_)
    as_json = parse_one(json.dumps(record))
    assert parse_one(urlencode(record), FORM) == as_json
    assert parse_one("{" + kv(record) + "}").dedup_key == as_json.dedup_key
