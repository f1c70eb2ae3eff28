"""The states of campaigns, contacts and attempts (DESIGN §4, §5), stored as plain strings."""

from __future__ import annotations

from enum import StrEnum


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


class Outcome(StrEnum):
    LISTENED = "listened"
    HUNG_UP = "hung_up"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    ROUTE_ERROR = "route_error"
    NETWORK_ERROR = "network_error"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DNC = "dnc"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class DncSource(StrEnum):
    API = "api"
    IMPORT = "import"
    DTMF = "dtmf"
    MTT = "mtt"
