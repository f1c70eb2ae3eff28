from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from dialer.telecom.dtmf import (
    DtmfAction,
    DtmfActionType,
    DtmfMenu,
    NotifyUrlError,
    SbDtmf,
    to_sbapi,
)

NOTIFY_URL = "https://dialer.example.com/webhooks/mtt/s3cr3t-token"


def action(digit: object, kind: str, number: object = None) -> dict[str, object]:
    entry: dict[str, object] = {"digit": digit, "action": kind}
    if number is not None:
        entry["number"] = number
    return entry


def design_menu_body() -> list[dict[str, object]]:
    """docs/design.md §9's campaign body."""
    return [action(1, "notify"), action(3, "transfer", "74997090111"), action(9, "opt_out")]


def make_menu(entries: list[dict[str, object]]) -> DtmfMenu:
    return DtmfMenu.model_validate(entries)


def menu_error(entries: list[dict[str, object]]) -> str:
    with pytest.raises(ValidationError) as caught:
        make_menu(entries)
    [error] = caught.value.errors()
    return str(error["msg"]).removeprefix("Value error, ")


def test_design_menu_parses_and_round_trips() -> None:
    menu = make_menu(design_menu_body())
    assert [(a.digit, a.action, a.number) for a in menu] == [
        (1, DtmfActionType.NOTIFY, None),
        (3, DtmfActionType.TRANSFER, "74997090111"),
        (9, DtmfActionType.OPT_OUT, None),
    ]
    assert len(menu) == 3
    assert make_menu(menu.model_dump(mode="json")) == menu
    assert DtmfMenu.model_validate_json(menu.model_dump_json()) == menu


def test_design_menu_goes_on_the_wire_as_sb_api_wants() -> None:
    assert to_sbapi(make_menu(design_menu_body()), NOTIFY_URL) == [
        SbDtmf(dtmf_id=1, type="notify", value=NOTIFY_URL),
        SbDtmf(dtmf_id=3, type="transfer", value="74997090111"),
        SbDtmf(dtmf_id=9, type="notify", value=NOTIFY_URL),
    ]


def test_wire_entry_serialises_to_the_reference_field_names() -> None:
    entry = SbDtmf(dtmf_id=3, type="transfer", value="74997090111")
    assert dataclasses.asdict(entry) == {"dtmf_id": 3, "type": "transfer", "value": "74997090111"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.value = "x"  # type: ignore[misc]


def test_transfer_number_is_normalised() -> None:
    menu = make_menu([action(3, "transfer", "8 (499) 709-01-11")])
    assert menu.root[0].number == "74997090111"
    assert to_sbapi(menu, NOTIFY_URL) == [SbDtmf(3, "transfer", "74997090111")]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (action("3", "transfer", "74997090111"), (3, DtmfActionType.TRANSFER)),
        (action(1, " Notify "), (1, DtmfActionType.NOTIFY)),
        (action(9, "OPT_OUT"), (9, DtmfActionType.OPT_OUT)),
    ],
)
def test_lenient_inputs(entry: dict[str, object], expected: tuple[int, DtmfActionType]) -> None:
    parsed = DtmfAction.model_validate(entry)
    assert (parsed.digit, parsed.action) == expected


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([action(0, "notify")], "digit 0 must be a whole number from 1 to 9"),
        ([action(10, "notify")], "digit 10 must be a whole number from 1 to 9"),
        ([action(True, "notify")], "digit True must be a whole number from 1 to 9"),
        ([action(2.0, "notify")], "digit 2.0 must be a whole number from 1 to 9"),
        ([action("#", "notify")], "digit '#' must be a whole number from 1 to 9"),
        ([action(2, "call")], "digit 2: action 'call' is not one of: notify, transfer, opt_out"),
        ([action(3, "transfer")], "digit 3: transfer needs a number"),
        ([action(1, "notify", "79101234567")], "digit 1: notify takes no number"),
        ([action(9, "opt_out", "79101234567")], "digit 9: opt_out takes no number"),
        (
            [action(3, "transfer", "123")],
            "digit 3: number '123': too short: 3 digits (sb-api takes exactly 11)",
        ),
        ([action(3, "transfer", "operator")], "digit 3: number 'operator': not a number"),
        ([action(2, "notify"), action(2, "opt_out")], "digit 2 is used by more than one action"),
        (
            [action(d, "notify") for d in range(1, 10)] + [action(1, "opt_out")],
            "a DTMF menu has at most 9 actions, got 10",
        ),
    ],
)
def test_bad_menus_are_refused_naming_the_digit(
    entries: list[dict[str, object]], message: str
) -> None:
    assert menu_error(entries) == message


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        make_menu([{"digit": 1, "action": "notify", "url": NOTIFY_URL}])


def test_full_and_empty_menus() -> None:
    full = make_menu([action(d, "notify") for d in range(1, 10)])
    assert len(full) == 9
    empty = DtmfMenu()
    assert len(empty) == 0
    assert to_sbapi(empty, "not even a url") == []


def test_action_for_a_chosen_digit() -> None:
    menu = make_menu(design_menu_body())
    chosen = menu.action_for(9)
    assert chosen is not None
    assert chosen.action is DtmfActionType.OPT_OUT
    assert menu.action_for(5) is None


def test_menus_are_immutable_and_hashable() -> None:
    menu = make_menu(design_menu_body())
    assert hash(menu) == hash(make_menu(design_menu_body()))
    with pytest.raises(ValidationError, match="frozen"):
        menu.root[0].digit = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://dialer.example.com/webhooks/mtt/s3cr3t-token", "http://dialer.example.com/…"),
        (
            "http://user:pw@dialer.example.com:8080/webhooks/mtt/s3cr3t",
            "http://dialer.example.com:8080/…",
        ),
        ("ftp://dialer.example.com/s3cr3t", "ftp://dialer.example.com/…"),
        ("/webhooks/mtt/s3cr3t", "(no scheme)"),
        ("https:///webhooks/mtt/s3cr3t", "https:///…"),
    ],
)
def test_notify_url_must_be_https_and_errors_hide_the_token(url: str, shown: str) -> None:
    with pytest.raises(NotifyUrlError) as caught:
        to_sbapi(make_menu(design_menu_body()), url)
    message = str(caught.value)
    assert message.startswith(f"notify URL {shown} is not usable: ")
    assert "s3cr3t" not in message
    assert "pw" not in message


def test_http_needs_explicit_permission_for_the_simulator() -> None:
    url = "http://127.0.0.1:9000/webhooks/mtt/token"
    with pytest.raises(NotifyUrlError, match="only POSTs DTMF notifications to https"):
        to_sbapi(make_menu(design_menu_body()), url)
    wire = to_sbapi(make_menu(design_menu_body()), url, allow_http=True)
    assert [entry.value for entry in wire] == [url, "74997090111", url]
    with pytest.raises(NotifyUrlError):
        to_sbapi(make_menu(design_menu_body()), "ftp://127.0.0.1/x", allow_http=True)


def test_transfer_only_menu_needs_no_notify_url() -> None:
    menu = make_menu([action(3, "transfer", "74997090111")])
    assert to_sbapi(menu, "") == [SbDtmf(3, "transfer", "74997090111")]
