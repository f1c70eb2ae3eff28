"""The campaign's DTMF menu and its sb-api wire form.

The menu speaks the campaign's language (notify, transfer, opt_out); sb-api only knows
`notify` (POST to an https URL) and `transfer`. Opting out is therefore a `notify` to our
own collector, which looks the digit up in the menu to tell it from a plain notify.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import ip_address
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    RootModel,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dialer.telecom.numbers import InvalidNumber, normalize

__all__ = [
    "ACTION",
    "DIGIT_RANGE",
    "NEEDS_NUMBER",
    "NO_NUMBER",
    "NUMBER",
    "SAME_DIGIT",
    "TOO_MANY",
    "WHICH_DIGIT",
    "DtmfAction",
    "DtmfActionType",
    "DtmfMenu",
    "NotifyUrlError",
    "SbDtmf",
    "plain_http_allowed",
    "to_sbapi",
]

MAX_ACTIONS = 9
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
"""Names no public DNS answers (RFC 6761, 6762, 8375; ICANN's .internal)."""

# The menu's refusals, formatted from these templates (the console recognises them by them).
DIGIT_RANGE: Final = "digit {value} must be a whole number from 1 to 9"
WHICH_DIGIT: Final = "digit {digit}: "
"""Prefixes ACTION and NUMBER once the digit is known."""
ACTION: Final = "action {value} is not one of: {allowed}"
NUMBER: Final = "number {value}: {reason}"
NEEDS_NUMBER: Final = "digit {digit}: transfer needs a number"
NO_NUMBER: Final = "digit {digit}: {dtmf} takes no number"
TOO_MANY: Final = "a DTMF menu has at most {limit} actions, got {count}"
SAME_DIGIT: Final = "digit {digit} is used by more than one action"


@dataclass(frozen=True)
class SbDtmf:
    """One entry of sb-api's `dtmf` array, exactly as the API expects it."""

    dtmf_id: int
    type: Literal["notify", "transfer"]
    value: str


class DtmfActionType(StrEnum):
    NOTIFY = "notify"
    TRANSFER = "transfer"
    OPT_OUT = "opt_out"


class DtmfAction(BaseModel):
    """What pressing (or saying) one digit does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    digit: int
    action: DtmfActionType
    number: str | None = None

    @field_validator("digit", mode="before")
    @classmethod
    def _digit(cls, value: object) -> int:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9:
            raise ValueError(DIGIT_RANGE.format(value=repr(value)))
        return value

    @field_validator("action", mode="before")
    @classmethod
    def _action(cls, value: object, info: ValidationInfo) -> DtmfActionType:
        if isinstance(value, str):
            for member in DtmfActionType:
                if member.value == value.strip().lower():
                    return member
        allowed = ", ".join(DtmfActionType)
        raise ValueError(_which(info) + ACTION.format(value=repr(value), allowed=allowed))

    @field_validator("number", mode="before")
    @classmethod
    def _number(cls, value: object, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            return normalize(value)
        except InvalidNumber as exc:
            problem = NUMBER.format(value=repr(value), reason=exc.reason)
            raise ValueError(_which(info) + problem) from None

    @model_validator(mode="after")
    def _number_only_for_transfer(self) -> DtmfAction:
        if self.action is DtmfActionType.TRANSFER and self.number is None:
            raise ValueError(NEEDS_NUMBER.format(digit=self.digit))
        if self.action is not DtmfActionType.TRANSFER and self.number is not None:
            raise ValueError(NO_NUMBER.format(digit=self.digit, dtmf=self.action))
        return self


def _which(info: ValidationInfo) -> str:
    """'digit 3: ' when the digit is already validated, so messages say which action failed."""
    digit = info.data.get("digit")
    return WHICH_DIGIT.format(digit=digit) if digit is not None else ""


class DtmfMenu(RootModel[tuple[DtmfAction, ...]]):
    """Up to nine actions on distinct digits; empty means a plain call without a menu."""

    model_config = ConfigDict(frozen=True)

    root: tuple[DtmfAction, ...] = ()

    @model_validator(mode="after")
    def _distinct_digits(self) -> DtmfMenu:
        if len(self.root) > MAX_ACTIONS:
            raise ValueError(TOO_MANY.format(limit=MAX_ACTIONS, count=len(self.root)))
        seen: set[int] = set()
        for entry in self.root:
            if entry.digit in seen:
                raise ValueError(SAME_DIGIT.format(digit=entry.digit))
            seen.add(entry.digit)
        return self

    def __iter__(self) -> Iterator[DtmfAction]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def action_for(self, digit: int) -> DtmfAction | None:
        """The action behind a digit the callee chose, or None for digits off the menu."""
        return next((entry for entry in self.root if entry.digit == digit), None)


class NotifyUrlError(ValueError):
    """The notify URL sb-api would refuse. The message shows scheme and host only: the
    path carries the webhook token."""


def plain_http_allowed(url: str) -> bool:
    """Whether a plain-http notify URL may be sent: only when its host is one MTT, on the public
    internet, can never reach (a loopback or private address, a name without a dot such as a
    compose service, a private-use suffix). Only a simulator on the same host or network then
    receives it; any host MTT could reach must be https, which MTT demands."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return False
    try:
        return not ip_address(host).is_global
    except ValueError:
        return "." not in host or host.endswith(PRIVATE_SUFFIXES)


def _check_notify_url(url: str, *, allow_http: bool) -> None:
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme in schemes and parts.hostname:
        return
    shown = (
        f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…" if parts.scheme else "(no scheme)"
    )
    if parts.scheme == "http":
        reason = (
            "MTT only POSTs DTMF notifications to https URLs; pass allow_http only for a simulator"
        )
    else:
        reason = "it must be an absolute https URL"
    raise NotifyUrlError(f"notify URL {shown} is not usable: {reason}")


def to_sbapi(menu: DtmfMenu, notify_url: str, *, allow_http: bool = False) -> list[SbDtmf]:
    """sb-api's `dtmf` list: notify and opt_out both notify our collector at `notify_url`.

    The URL is only checked when an action needs it (a transfer-only menu sends none).
    """
    if any(entry.action is not DtmfActionType.TRANSFER for entry in menu):
        _check_notify_url(notify_url, allow_http=allow_http)
    return [
        # DtmfAction holds a number exactly when it is a transfer
        SbDtmf(entry.digit, "transfer", entry.number)
        if entry.number is not None
        else SbDtmf(entry.digit, "notify", notify_url)
        for entry in menu
    ]
