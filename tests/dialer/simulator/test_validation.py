"""The request checks, table-driven, plus arbitrary input that must never crash them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.simulator.validation import (
    A_NUMBER_ERROR,
    B_NUMBER_ERROR,
    DTMF_ERROR,
    MESS_ID_ERROR,
    MESS_TEXT_ERROR,
    NOTIFY_ERROR,
    SIP_ID_ERROR,
    TRANSFER_ERROR,
    AcceptedCall,
    AccessForbidden,
    Declined,
    MenuAction,
    validate_call,
)
from tests.dialer.simulator.harness import (
    IVR_METHOD,
    METHOD,
    SIP_ID,
    ivr_body,
    menu_item,
    plain_body,
)


def check(
    body: object, allow_http_notify: bool = False
) -> AcceptedCall | AccessForbidden | Declined:
    return validate_call(
        body,
        method=METHOD,
        ivr_method=IVR_METHOD,
        sip_id=SIP_ID,
        allow_http_notify=allow_http_notify,
    )


HTTPS = "https://example.ru/mtt/event"

REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("b_number 10 digits", plain_body(b_number="7910000000"), B_NUMBER_ERROR),
    ("b_number with plus", plain_body(b_number="+79100000000"), B_NUMBER_ERROR),
    ("b_number as number", plain_body(b_number=79100000000), B_NUMBER_ERROR),
    ("b_number missing", plain_body(b_number=None), B_NUMBER_ERROR),
    ("b_number arabic-indic", plain_body(b_number="٧٩١٠٠٠٠٠٠٠٠"), B_NUMBER_ERROR),
    ("a_number 12 digits", plain_body(a_number="749500000001"), A_NUMBER_ERROR),
    ("ivr without a_number", ivr_body([], a_number=None), A_NUMBER_ERROR),
    ("wrong sip_id", plain_body(sip_id="74996480001"), SIP_ID_ERROR),
    ("missing sip_id", plain_body(sip_id=None), SIP_ID_ERROR),
    ("empty messText", plain_body(messText=" "), MESS_TEXT_ERROR),
    ("unknown voice", plain_body(voice_name="alice"), '"voice_name" value is not allowed'),
    ("unknown emotion", plain_body(emotion="sad"), '"emotion" value is not allowed'),
    ("tr-TR on plain", plain_body(langCode="tr-TR"), '"langCode" value is not allowed'),
    ("speed too high", plain_body(speed_speech=3.5), '"speed_speech" value is not allowed'),
    ("speed not a number", plain_body(speed_speech="fast"), '"speed_speech" value is not allowed'),
    ("http notify", ivr_body([menu_item(1, "notify", "http://x.ru/e")]), NOTIFY_ERROR),
    ("ftp notify", ivr_body([menu_item(1, "notify", "ftp://x.ru/e")]), NOTIFY_ERROR),
    ("transfer not e164", ivr_body([menu_item(3, "transfer", "8800")]), TRANSFER_ERROR),
    ("dtmf_id 0", ivr_body([menu_item(0, "notify", HTTPS)]), DTMF_ERROR),
    ("dtmf_id twice", ivr_body([menu_item(1, "notify", HTTPS)] * 2), DTMF_ERROR),
    ("unknown action", ivr_body([menu_item(1, "callback", HTTPS)]), DTMF_ERROR),
    ("ten actions", ivr_body([menu_item(1, "notify", HTTPS)] * 10), DTMF_ERROR),
]


@pytest.mark.parametrize(("body", "error"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_carry_the_error_text_and_the_mess_id(body: dict[str, Any], error: str) -> None:
    assert check(body) == Declined(error, "1255490")


@pytest.mark.parametrize(
    "body",
    [plain_body(messId=None), plain_body(messId=""), plain_body(messId=True), {"method": METHOD}],
    ids=["missing", "empty", "boolean", "no data"],
)
def test_a_request_without_mess_id_is_refused_without_one(body: dict[str, Any]) -> None:
    assert check(body) == Declined(MESS_ID_ERROR, None)


@pytest.mark.parametrize(
    "body",
    [{"method": "metod", "data": {}}, {"data": {}}, [], None, "inform"],
    ids=["other method", "no method", "list", "null", "string"],
)
def test_anything_but_the_two_methods_is_access_forbidden(body: object) -> None:
    assert check(body) == AccessForbidden()


def test_plain_call_defaults_a_number_to_sip_id_and_ignores_a_menu() -> None:
    body = plain_body(dtmf=[menu_item(1, "notify", HTTPS)])
    spec = check(body)
    assert isinstance(spec, AcceptedCall)
    assert (spec.a_number, spec.ivr, spec.menu, spec.voice, spec.speed) == (
        SIP_ID,
        False,
        (),
        "erkanyavas",
        1.0,
    )


@pytest.mark.parametrize("top", [False, True], ids=["inside data", "top level"])
def test_the_menu_is_read_from_either_placement(top: bool) -> None:
    menu = [menu_item(1, "notify", HTTPS), menu_item(3, "transfer", "74997090111")]
    spec = check(ivr_body(menu, top=top))
    assert isinstance(spec, AcceptedCall)
    assert spec.menu == (
        MenuAction(1, "notify", HTTPS),
        MenuAction(3, "transfer", "74997090111"),
    )


@pytest.mark.parametrize(
    ("allow", "url", "accepted"),
    [
        (True, "http://127.0.0.1:8000/webhooks/mtt/t", True),
        (True, "http://api:8000/hook", True),
        (False, "http://127.0.0.1:8000/webhooks/mtt/t", False),
        (False, HTTPS, True),
        (True, "https:///no-host", False),
    ],
)
def test_http_notify_urls_follow_the_knob(allow: bool, url: str, accepted: bool) -> None:
    result = check(ivr_body([menu_item(1, "notify", url)]), allow_http_notify=allow)
    assert isinstance(result, AcceptedCall) is accepted
    if not accepted:
        assert result == Declined(NOTIFY_ERROR, "1255490")


def test_ivr_accepts_lang_code_spelling_and_turkish() -> None:
    spec = check(ivr_body([], lang_code="tr-TR", speed_speech="2.5"))
    assert isinstance(spec, AcceptedCall)
    assert (spec.lang, spec.speed) == ("tr-TR", 2.5)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "messId",
                "sip_id",
                "b_number",
                "a_number",
                "messText",
                "dtmf",
                "speed_speech",
                "voice_name",
            ]
        ),
        json_values,
    ),
    method=st.sampled_from([METHOD, IVR_METHOD]),
)
def test_wild_input_gets_an_answer_never_an_exception(data: dict[str, Any], method: str) -> None:
    assert isinstance(check({"method": method, "data": data}), AcceptedCall | Declined)
