"""The states of campaigns, contacts and attempts (docs/design.md §4, §5), stored as plain
strings."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AttemptState",
    "CampaignKind",
    "CampaignStatus",
    "ContactStatus",
    "DncSource",
    "Outcome",
    "WaitingReason",
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


class Outcome(StrEnum):
    """Every final contact outcome of docs/design.md §5.4: the redial policy's endings
    (dialer.telecom.redial.Ending, up to `expired`), then the call path's and the campaign's."""

    LISTENED = "listened"
    HUNG_UP = "hung_up"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    ROUTE_ERROR = "route_error"
    NETWORK_ERROR = "network_error"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DNC = "dnc"
    CANCELLED = "cancelled"


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


class WaitingReason(StrEnum):
    """Why a waiting contact is not being called now (campaigns.waiting)."""

    NOT_STARTED = "not_started"
    CAMPAIGN_SCHEDULED = "campaign_scheduled"
    CAMPAIGN_PAUSED = "campaign_paused"
    CAMPAIGN_ENDED = "campaign_ended"
    REDIAL_DELAY = "redial_delay"
    DAILY_CAP = "daily_cap"
    """The service's answered calls per number per day (DIALER_DAILY_ANSWERED_CAP)."""
    FREQUENCY_CAP = "frequency_cap"
    """A debt_collection cap per day, week or month (campaigns.purposes)."""
    SEND_RETRY = "send_retry"
    """The request never reached MTT; it is sent again shortly."""
    WINDOW_CLOSED = "window_closed"
    CONCURRENCY = "concurrency"
    """Due and inside its window: waiting for a free line (concurrency, CPS, fair share)."""
    BALANCE_LOW = "balance_low"
    """Due and inside its window, but MTT's balance is at or below DIALER_MIN_BALANCE."""
