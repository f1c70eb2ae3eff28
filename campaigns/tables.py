"""The tables (docs/design.md §4). The database is the source of truth; Redis never holds the only
copy.

Times are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL.
Enumerated states are plain strings (values of `campaigns.states`), so a new state needs no
type migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive input is a bug and raises."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: Json,
        list[Any]: Json,
    }


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="campaign")
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    voice: Mapped[dict[str, Any]] = mapped_column(default=dict)
    a_number: Mapped[str | None] = mapped_column(String(11))
    dtmf: Mapped[list[Any]] = mapped_column(default=list)
    window: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Calling window: workdays, weekends (["HH:MM", "HH:MM"]) and holidays (bool)."""
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=10)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    redial: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Overrides of the redial policy: category → delays in seconds."""
    var_columns: Mapped[list[Any]] = mapped_column(default=list)
    """Template variable names in the order the imported files gave them: the export's column
    order (PostgreSQL's JSONB does not keep a row's key order)."""
    crm_callback_url: Mapped[str | None] = mapped_column(Text)
    crm_callback_secret: Mapped[str | None] = mapped_column(Text)
    """HMAC key of this campaign's callbacks; the global setting when unset. Never exported."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # compliance presets (campaigns.purposes)
    purpose: Mapped[str] = mapped_column(
        String(16), default="informing", server_default="informing"
    )
    caps: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """debt_collection: interactions per number (230-FZ art. 7); the law's values when null."""
    # network spikes (campaigns.spikes): how often the service paused it, for /metrics
    network_pauses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # per-campaign listening threshold (campaigns.policy): DIALER_MIN_LISTEN_SECONDS when null
    min_listen_seconds: Mapped[int | None] = mapped_column(Integer)
    """An answered call shorter than this is hung_up (redialed), not listened."""


class Place(Base):
    """A numbering-plan region and operator, which contacts name by id: a million contacts share
    a few thousand of them, and two text columns on every contact cost a third of an import.
    A part the plan leaves out is stored as "" (unique pairs need no NULLs) and read as None."""

    __tablename__ = "place"
    __table_args__ = (UniqueConstraint("region", "operator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region: Mapped[str] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(Text)


class Contact(Base):
    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone"),
        # the pacer: due contacts of a campaign in the time zones whose window is open
        Index("ix_contact_due", "campaign_id", "status", "timezone", "next_attempt_at"),
        # only finished contacts have an outcome: imports do not maintain this index
        Index(
            "ix_contact_campaign_outcome_id",
            "campaign_id",
            "outcome",
            "id",
            sqlite_where=text("outcome IS NOT NULL"),
            postgresql_where=text("outcome IS NOT NULL"),
        ),
        # a campaign's contacts of one status, a page at a time in id order (campaigns.contacts)
        Index("ix_contact_campaign_status_id", "campaign_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(11))
    line: Mapped[int | None] = mapped_column(Integer)
    """Line of the import file the contact came from."""
    vars: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str] = mapped_column(String(64))
    """The callee's IANA zone; "" (campaigns.windows.UNKNOWN_ZONE) when unknown: called only
    while the window is open in every Russian zone."""
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    """The numbering plan's region and operator of the number's range (None outside the plan;
    the number may since have been ported); read as `region` and `operator`."""
    region: Mapped[str | None] = column_property(
        select(func.nullif(Place.region, "")).where(Place.id == place_id).scalar_subquery()
    )
    operator: Mapped[str | None] = column_property(
        select(func.nullif(Place.operator, "")).where(Place.id == place_id).scalar_subquery()
    )
    text: Mapped[str | None] = mapped_column(Text)
    """Per-row message override (already a template, rendered at dial time)."""
    voice: Mapped[dict[str, Any] | None] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    network_attempts: Mapped[int] = mapped_column(Integer, default=0)
    history: Mapped[str] = mapped_column(Text, default="")
    """Categories of the finished attempts, comma-separated, oldest first (redial input)."""
    next_attempt_at: Mapped[datetime | None]
    last_cause: Mapped[int | None] = mapped_column(Integer)
    listened_seconds: Mapped[int] = mapped_column(Integer, default=0)
    dtmf: Mapped[str] = mapped_column(String(32), default="")
    transfer_number: Mapped[str | None] = mapped_column(String(11))
    transfer_seconds: Mapped[int] = mapped_column(Integer, default=0)
    first_call_at: Mapped[datetime | None]
    last_call_at: Mapped[datetime | None]
    waiting_reason: Mapped[str | None] = mapped_column(String(16))
    """Why `next_attempt_at` was put ahead (redial_delay, daily_cap, …): campaigns.waiting."""


class Attempt(Base):
    __tablename__ = "attempt"
    __table_args__ = (
        Index("ix_attempt_state_claimed", "state", "claimed_at"),
        Index("ix_attempt_number_finished", "number", "finished_at"),
        Index("ix_attempt_campaign_id", "campaign_id", "id"),  # the attempts export
        # the live campaign page: calls and answers per minute, read from the index alone
        Index("ix_attempt_campaign_claimed", "campaign_id", "claimed_at", "category"),
        # the sweeper's network-spike check: a running campaign's recently finished calls
        Index(
            "ix_attempt_campaign_finished",
            "campaign_id",
            "finished_at",
            "cause",
            sqlite_where=text("finished_at IS NOT NULL"),
            postgresql_where=text("finished_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    """Its decimal string is the messId sent to MTT."""
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column("number", String(11))
    """The contact's phone when it was dialed; the column keeps its first name, `number`."""
    state: Mapped[str] = mapped_column(String(16), default="claimed")
    call_id: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    originated_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cause: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(16))
    dtmf: Mapped[str] = mapped_column(String(32), default="")
    transfer_number: Mapped[str | None] = mapped_column(String(11))
    transfer_cause: Mapped[int | None] = mapped_column(Integer)
    transfer_seconds: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """The webhook inbox: every authenticated body, stored before it is acted on."""

    __tablename__ = "event"
    __table_args__ = (
        # the sweeper's retry of events that failed to apply: a handful among millions
        Index(
            "ix_event_apply_error",
            "id",
            sqlite_where=text("apply_error IS NOT NULL"),
            postgresql_where=text("apply_error IS NOT NULL"),
        ),
        # /metrics counts the conflicts (webhook matching, issue 15): a handful among millions
        Index(
            "ix_event_conflict",
            "id",
            sqlite_where=text("match_status = 'conflict'"),
            postgresql_where=text("match_status = 'conflict'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    query: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str | None] = mapped_column(String(16))
    dedup_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    mess_id: Mapped[str | None] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(32))
    parsed: Mapped[dict[str, Any] | None] = mapped_column(Json)
    parse_error: Mapped[str | None] = mapped_column(Text)
    apply_error: Mapped[str | None] = mapped_column(Text)
    """Why a parsed event could not be applied; the sweeper retries such events."""
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempt.id", ondelete="SET NULL"), index=True
    )
    # webhook matching (issue 15): a `campaigns.matching.MatchStatus`, and why a conflict is one
    match_status: Mapped[str | None] = mapped_column(String(16))
    match_reason: Mapped[str | None] = mapped_column(Text)


class Dnc(Base):
    __tablename__ = "dnc"

    phone: Mapped[str] = mapped_column(String(11), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime]


class Callback(Base):
    """A CRM callback to deliver: one per final outcome and per DTMF choice (dedup_key)."""

    __tablename__ = "callback"
    __table_args__ = (Index("ix_callback_campaign_status", "campaign_id", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


# console users and their sessions (api/console, issue 12)


class ConsoleUser(Base):
    """A person signing in to the web console; the password only as an argon2 hash."""

    __tablename__ = "console_user"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class ConsoleSession(Base):
    """A signed-in browser: the cookie holds the token, the row only its SHA-256."""

    __tablename__ = "console_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("console_user.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
