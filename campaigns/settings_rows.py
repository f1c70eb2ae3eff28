"""A campaign's settings as its table row: `CampaignSettings` ↔ the `campaign` columns.

The contract's shape (`campaigns.spec`) and the storage's (`campaigns.tables`) differ where
the row is flatter (the schedule's zone and dates are columns of their own) or keeps a
secret in the clear; this is the one place that maps between them.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from campaigns.purposes import Caps, Purpose
from campaigns.spec import CampaignSettings, Schedule
from campaigns.tables import Campaign
from dialer.telecom.dtmf import DtmfMenu
from dialer.telecom.voice import Voice

__all__ = ["row_values", "settings_of"]


def row_values(settings: CampaignSettings) -> dict[str, Any]:
    """The campaign columns that hold `settings`."""
    schedule = settings.schedule
    secret = settings.crm_callback_secret
    return {
        "name": settings.name,
        "message": settings.message,
        "purpose": settings.purpose.value,
        "caps": None if settings.caps is None else settings.caps.model_dump(mode="json"),
        "voice": settings.voice.model_dump(mode="json"),
        "a_number": settings.a_number,
        "dtmf": settings.dtmf.model_dump(mode="json"),
        "window": schedule.model_dump(include={"workdays", "weekends", "holidays"}, mode="json"),
        "timezone": schedule.timezone,
        "start_at": schedule.start_at,
        "end_at": schedule.end_at,
        "max_attempts": settings.max_attempts,
        "max_concurrent": settings.max_concurrent,
        "priority": settings.priority,
        "redial": settings.redial,
        "min_listen_seconds": settings.min_listen_seconds,
        "crm_callback_url": settings.crm_callback_url,
        "crm_callback_secret": None if secret is None else secret.get_secret_value(),
    }


def settings_of(campaign: Campaign) -> CampaignSettings:
    """The settings a campaign row holds."""
    schedule: dict[str, Any] = {
        **campaign.window,
        "timezone": campaign.timezone,
        "start_at": campaign.start_at,
        "end_at": campaign.end_at,
    }
    return CampaignSettings(
        name=campaign.name,
        message=campaign.message,
        purpose=Purpose(campaign.purpose),
        caps=None if campaign.caps is None else Caps.model_validate(campaign.caps),
        voice=Voice.model_validate(campaign.voice),
        a_number=campaign.a_number,
        dtmf=DtmfMenu.model_validate(campaign.dtmf),
        schedule=Schedule.model_validate(schedule),
        max_attempts=campaign.max_attempts,
        max_concurrent=campaign.max_concurrent,
        priority=campaign.priority,
        redial=campaign.redial,
        min_listen_seconds=campaign.min_listen_seconds,
        crm_callback_url=campaign.crm_callback_url,
        crm_callback_secret=(
            None
            if campaign.crm_callback_secret is None
            else SecretStr(campaign.crm_callback_secret)
        ),
    )
