"""Business errors of the campaign layer; the API maps them to responses in one place.

`code` is the stable machine-readable name, `status` the HTTP status it stands for, `details`
any JSON-able specifics (the field, the current state).
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

NO_CAMPAIGN: Final = "campaign {id} does not exist"
"""Every module that looks a campaign up refuses a missing one in these words."""


class CampaignError(Exception):
    code: ClassVar[str] = "campaign_error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(CampaignError):
    code = "not_found"
    status = 404


class IllegalTransition(CampaignError):
    """The campaign's status does not allow this action (start a running one, edit a live one)."""

    code = "illegal_transition"
    status = 409


class Conflict(CampaignError):
    code = "conflict"
    status = 409


class Invalid(CampaignError):
    """A value the caller sent is unacceptable; `details` names the field."""

    code = "invalid"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={"field": field})
        self.field = field
