"""Response bodies of the REST API (docs/design.md §9) and the error body every route documents.

The models are the OpenAPI document's truth: each route names its response model and its
error statuses (`errors(...)`), so a client generated from /openapi.json knows every answer.
Secrets never appear: a campaign's callback secret is shown only as whether one is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from campaigns.contacts import ContactHistory
from campaigns.importer import ImportReport
from campaigns.matching import MatchStatus
from campaigns.paging import MAX_LIMIT
from campaigns.purposes import Caps, Purpose
from campaigns.settings_rows import settings_of
from campaigns.spec import Schedule
from campaigns.states import (
    AttemptState,
    CampaignKind,
    CampaignStatus,
    ContactStatus,
    Outcome,
    WaitingReason,
)
from campaigns.stats import CampaignStats
from campaigns.tables import Attempt, Campaign, Contact, Dnc, Event
from campaigns.waiting import Waiting
from dialer.telecom.dtmf import DtmfMenu
from dialer.telecom.voice import Voice

__all__ = [
    "MAX_ID",
    "AttemptOut",
    "CallId",
    "CallOut",
    "CampaignCreated",
    "CampaignId",
    "CampaignOut",
    "CampaignPage",
    "ContactHistoryOut",
    "ContactId",
    "ContactOut",
    "ContactPage",
    "DncEntryOut",
    "DncPage",
    "ErrorBody",
    "HealthOut",
    "ImportReportOut",
    "WaitingOut",
    "errors",
]


MAX_ID = 2**63 - 1
"""Ids are 64-bit: a larger one in a path is a 422, never a database overflow."""
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
CallId = Annotated[int, Path(ge=1, le=MAX_ID)]
ContactId = Annotated[int, Path(ge=1, le=MAX_ID)]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class ErrorDetail(_Out):
    code: str = Field(description="stable machine-readable name, e.g. not_found, invalid")
    message: str
    details: Any = Field(default=None, description="the field at fault, the current state, …")


class ErrorBody(_Out):
    """Every error answer: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


_WHAT = {
    400: "malformed request (unreadable body or form)",
    401: "missing or unknown API key",
    404: "no such resource",
    409: "not allowed in the resource's current state",
    413: "request body larger than the limit",
    415: "unsupported content type",
    422: "invalid value; `details` names the field",
    503: "a dependency (database, Redis) is unavailable",
}


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
"""A page's size, as every listing takes it."""


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry documenting these error statuses with the one error body."""
    return {status: {"model": ErrorBody, "description": _WHAT[status]} for status in statuses}


class RejectionOut(_Out):
    line: int = Field(description="row number in the file (header = 1) or list position")
    column: str
    value: str
    reason: str


class ImportReportOut(_Out):
    rows: int
    accepted: int
    duplicates: int
    dnc: int
    rejected_count: int
    rejected: list[RejectionOut] = Field(description="the first rejected rows, by line")
    zones: dict[str, int] = Field(
        description='accepted rows per callee time zone; "unknown": no zone known'
    )

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        return cls.model_validate(report.to_dict())


class CampaignOut(_Out):
    id: int
    name: str
    message: str
    purpose: Purpose
    caps: Caps | None = Field(description="debt_collection: null means the law's caps")
    voice: Voice
    a_number: str | None
    dtmf: DtmfMenu
    schedule: Schedule
    max_attempts: int
    max_concurrent: int
    priority: int
    redial: dict[str, list[int]]
    min_listen_seconds: int | None = Field(
        description="answered calls shorter than this are hung_up (redialed), longer listened; "
        "null: the service's DIALER_MIN_LISTEN_SECONDS"
    )
    crm_callback_url: str | None
    crm_callback_secret_set: bool = Field(description="whether a campaign callback secret is set")
    status: CampaignStatus
    status_reason: str | None = Field(description="why it paused or ended, when known")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stats: CampaignStats

    @classmethod
    def of(cls, campaign: Campaign, stats: CampaignStats) -> CampaignOut:
        settings = settings_of(campaign)
        return cls(
            id=campaign.id,
            **settings.model_dump(exclude={"crm_callback_secret"}),
            crm_callback_secret_set=settings.crm_callback_secret is not None,
            status=CampaignStatus(campaign.status),
            status_reason=campaign.status_reason,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            started_at=campaign.started_at,
            finished_at=campaign.finished_at,
            stats=stats,
        )


class CampaignCreated(CampaignOut):
    import_report: ImportReportOut | None = Field(
        default=None, description="the report of the inline `contacts`, when some were given"
    )


class CampaignPage(_Out):
    items: list[CampaignOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


_WAITING_REASON = "why a waiting contact is not being called now; null when it is not waiting"
_NEXT_ATTEMPT = "UTC; when it will be called, whenever known"


class ContactOut(_Out):
    id: int
    phone: str
    line: int | None
    vars: dict[str, Any]
    timezone: str = Field(
        description='the callee\'s IANA zone; "" when unknown: called only while the window '
        "is open in every Russian zone (DIALER_UNKNOWN_ZONE=strict)"
    )
    region: str | None = Field(description="the numbering plan's region of the number")
    operator: str | None = Field(description="the numbering plan's operator of the number")
    text: str | None
    status: ContactStatus
    outcome: Outcome | None
    attempts: int
    network_attempts: int
    waiting_reason: WaitingReason | None = Field(description=_WAITING_REASON)
    next_attempt_at: datetime | None = Field(description=_NEXT_ATTEMPT)
    last_cause: int | None
    listened_seconds: int
    dtmf: str
    transfer_number: str | None
    transfer_seconds: int
    first_call_at: datetime | None
    last_call_at: datetime | None

    @classmethod
    def of(cls, contact: Contact, waiting: Waiting) -> ContactOut:
        return cls.model_validate(contact).model_copy(
            update={"waiting_reason": waiting.reason, "next_attempt_at": waiting.next_attempt_at}
        )


class WaitingGroupOut(_Out):
    reason: WaitingReason
    contacts: int
    next_attempt_at: datetime | None = Field(description="UTC; the group's earliest, if known")


class WaitingOut(_Out):
    """A campaign's waiting contacts by why they wait, most first."""

    items: list[WaitingGroupOut]


class ContactPage(_Out):
    items: list[ContactOut]
    next_cursor: str | None


class AttemptOut(_Out):
    id: int = Field(description="also the messId sent to MTT")
    state: AttemptState
    call_id: str | None = Field(description="MTT's CallID")
    claimed_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    cause: int | None
    duration: int | None
    category: str | None
    dtmf: str
    transfer_number: str | None
    transfer_seconds: int
    error: str | None


# --- a contact's history (webhook matching, issue 15) ---


class EventOut(_Out):
    """A webhook event stored for an attempt, applied or not."""

    id: int
    received_at: datetime
    kind: str | None = Field(description="originate, hangup or notify")
    event: str | None = Field(description="MTT's `event` field, e.g. h_79101234567_16_9")
    call_id: str | None = Field(description="MTT's CallID in the event")
    match_status: MatchStatus | None = Field(
        description="conflict: it contradicts the attempt's CallID or number and was not applied"
    )
    match_reason: str | None
    apply_error: str | None

    @classmethod
    def of(cls, row: Event) -> EventOut:
        event = (row.parsed or {}).get("event")
        return cls(
            id=row.id,
            received_at=row.received_at,
            kind=row.kind,
            event=event if isinstance(event, str) else None,
            call_id=row.call_id,
            match_status=None if row.match_status is None else MatchStatus(row.match_status),
            match_reason=row.match_reason,
            apply_error=row.apply_error,
        )


class AttemptHistoryOut(AttemptOut):
    number: str
    events: list[EventOut] = Field(description="webhook events stored for it, oldest first")


class ContactHistoryOut(ContactOut):
    calls: list[AttemptHistoryOut] = Field(description="each attempt, oldest first")

    @classmethod
    def of_history(cls, history: ContactHistory, waiting: Waiting) -> ContactHistoryOut:
        calls = [
            AttemptHistoryOut(
                **AttemptOut.model_validate(attempt).model_dump(),
                number=attempt.phone,
                events=[EventOut.of(row) for row in history.events[attempt.id]],
            )
            for attempt in history.attempts
        ]
        return cls(**ContactOut.of(history.contact, waiting).model_dump(), calls=calls)


class CallOut(_Out):
    """A single call: its campaign's state and its one contact's outcome."""

    id: int
    kind: CampaignKind
    status: CampaignStatus
    status_reason: str | None
    phone: str
    vars: dict[str, Any]
    contact_status: ContactStatus
    outcome: Outcome | None
    attempts: int
    waiting_reason: WaitingReason | None = Field(description=_WAITING_REASON)
    next_attempt_at: datetime | None = Field(description=_NEXT_ATTEMPT)
    last_cause: int | None
    listened_seconds: int
    dtmf: str
    transfer_number: str | None
    transfer_seconds: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    calls: list[AttemptOut] = Field(description="each attempt to reach the number, oldest first")

    @classmethod
    def of(
        cls, campaign: Campaign, contact: Contact, attempts: list[Attempt], waiting: Waiting
    ) -> CallOut:
        return cls(
            id=campaign.id,
            kind=CampaignKind(campaign.kind),
            status=CampaignStatus(campaign.status),
            status_reason=campaign.status_reason,
            phone=contact.phone,
            vars=contact.vars,
            contact_status=ContactStatus(contact.status),
            outcome=None if contact.outcome is None else Outcome(contact.outcome),
            attempts=contact.attempts,
            waiting_reason=waiting.reason,
            next_attempt_at=waiting.next_attempt_at,
            last_cause=contact.last_cause,
            listened_seconds=contact.listened_seconds,
            dtmf=contact.dtmf,
            transfer_number=contact.transfer_number,
            transfer_seconds=contact.transfer_seconds,
            created_at=campaign.created_at,
            started_at=campaign.started_at,
            finished_at=campaign.finished_at,
            calls=[AttemptOut.model_validate(attempt) for attempt in attempts],
        )


class DncEntryOut(_Out):
    phone: str
    reason: str | None
    source: str
    added_at: datetime

    @classmethod
    def of(cls, entry: Dnc) -> DncEntryOut:
        return cls.model_validate(entry)


class DncPage(_Out):
    items: list[DncEntryOut]
    next_cursor: str | None


class HealthOut(_Out):
    status: str = Field(description='"ok"')
    database: str
    redis: str
