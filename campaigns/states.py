"""The states of campaigns, contacts and attempts (DESIGN §4, §5), stored as plain strings."""

from __future__ import annotations

from enum import StrEnum

from dialer.redial import Outcome

__all__ = [
    "AttemptState",
    "CampaignKind",
    "CampaignStatus",
    "ContactStatus",
    "DncSource",
    "Outcome",
]


class CampaignKind(StrEnum):
    CAMPAIGN = "campaign"
    CALL = "call"
    """A single CRM call (`POST /v1/calls`): a one-contact campaign that starts at once."""


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ContactStatus(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    DIALING = "dialing"
    DONE = "done"


class AttemptState(StrEnum):
    CLAIMED = "claimed"
    SENDING = "sending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    ORIGINATED = "originated"
    FINISHED = "finished"
    LOST = "lost"


class DncSource(StrEnum):
    MANUAL = "manual"
    """Added by a person in the console (issue 13)."""
    API = "api"
    IMPORT = "import"
    DTMF = "dtmf"
    MTT = "mtt"
