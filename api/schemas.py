"""Response bodies of the REST API (DESIGN §9) and the error body every route documents.

The models are the OpenAPI document's truth: each route names its response model and its
error statuses (`errors(...)`), so a client generated from /openapi.json knows every answer.
Secrets never appear: a campaign's callback secret is shown only as whether one is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from campaigns.importer import ImportReport
from campaigns.spec import Schedule, settings_of
from campaigns.states import AttemptState, CampaignKind, CampaignStatus, ContactStatus, Outcome
from campaigns.stats import CampaignStats
from campaigns.tables import Attempt, Campaign, Contact, Dnc
from dialer.dtmf import DtmfMenu
from dialer.voice import Voice

__all__ = [
    "MAX_ID",
    "AttemptOut",
    "CallId",
    "CallOut",
    "CampaignCreated",
    "CampaignId",
    "CampaignOut",
    "CampaignPage",
    "ContactOut",
    "ContactPage",
    "DncEntryOut",
    "DncPage",
    "ErrorBody",
    "HealthOut",
    "ImportReportOut",
    "errors",
]


MAX_ID = 2**63 - 1
"""Ids are 64-bit: a larger one in a path is a 422, never a database overflow."""
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
CallId = Annotated[int, Path(ge=1, le=MAX_ID)]


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
    voice: Voice
    a_number: str | None
    dtmf: DtmfMenu
    schedule: Schedule
    max_attempts: int
    max_concurrent: int
    priority: int
    redial: dict[str, list[int]]
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
    next_attempt_at: datetime | None
    last_cause: int | None
    listened_seconds: int
    dtmf: str
    transfer_number: str | None
    transfer_seconds: int
    first_call_at: datetime | None
    last_call_at: datetime | None

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls.model_validate(contact)


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
    next_attempt_at: datetime | None
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
    def of(cls, campaign: Campaign, contact: Contact, attempts: list[Attempt]) -> CallOut:
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
            next_attempt_at=contact.next_attempt_at,
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
