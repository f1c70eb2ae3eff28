"""The sb-api request for one attempt: the contact's text and voice, the campaign's menu.

The message is rendered at dial time (a per-row `text` overrides the campaign's template) and
the per-row voice fields override the campaign's. DTMF `notify` and `opt_out` choices are
reported to our own collector.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from campaigns.tables import Campaign, Contact
from campaigns.templates import render
from dialer.telecom.dtmf import DtmfMenu, to_sbapi
from dialer.telecom.sbapi import CallRequest
from dialer.telecom.voice import Voice

__all__ = ["CallSetup", "call_request"]


@dataclass(frozen=True)
class CallSetup:
    """What the service's settings add to every request."""

    a_number: str | None
    """Caller id when the campaign has none."""
    notify_url: str
    allow_http: bool
    """Whether a plain-http notify URL may be sent (a loopback collector, with the simulator)."""


def call_request(
    mess_id: str, contact: Contact, campaign: Campaign, setup: CallSetup
) -> CallRequest:
    """Raises ValueError (a template, voice, menu or caller id sb-api would refuse) naming
    what is wrong: such a request is never sent."""
    text = render(contact.text or campaign.message, contact.vars)
    if not text.strip():
        raise ValueError("the message renders to an empty text")
    try:
        voice = Voice.model_validate(campaign.voice).merged(contact.voice or {})
    except ValidationError as error:
        raise ValueError(f"voice: {_first_error(error)}") from None
    try:
        menu = DtmfMenu.model_validate(campaign.dtmf)
    except ValidationError as error:
        raise ValueError(f"dtmf: {_first_error(error)}") from None
    voice.check_for_method(ivr=bool(menu))
    a_number = campaign.a_number or setup.a_number
    if menu and not a_number:
        raise ValueError("a call with a DTMF menu needs a_number (campaign or DIALER_A_NUMBER)")
    return CallRequest(
        mess_id=mess_id,
        b_number=contact.phone,
        text=text,
        a_number=a_number,
        lang=voice.lang.value,
        voice_name=voice.voice_name.value,
        emotion=voice.emotion.value,
        speed=voice.speed,
        dtmf=to_sbapi(menu, setup.notify_url, allow_http=setup.allow_http),
    )


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
