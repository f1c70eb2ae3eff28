"""The one settings class of the service (docs/design.md §12).

Every process builds it once (`Settings()` reads `DIALER_*` variables and `.env`) and passes it
into constructors; nothing below the composition root reads the environment itself.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class DtmfPlacement(StrEnum):
    """Where the `dtmf` list goes in an ivr-api request: MTT's table and example disagree."""

    DATA = "data"
    TOP = "top"


class UnknownZone(StrEnum):
    """How a callee of unknown time zone is called (no numbering-plan range, a foreign number)."""

    STRICT = "strict"
    """Only while the calling window is open in every Russian zone at once."""
    DEFAULT = "default"
    """In the campaign's own zone."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DIALER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # storage
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file DATA_DIR/dialer.db"
    )
    redis_url: str = "redis://127.0.0.1:6379/0"

    # MTT sb-api
    sb_api_url: str = "https://sb-api.mtt.ru/v1/sb"
    sb_login: str | None = None
    sb_password: SecretStr = SecretStr("")
    sb_method: str = Field(default="metod", description="method name of the plain call (from MTT)")
    sb_ivr_method: str = "ivr-api"
    sip_id: str = "70000000000"
    a_number: str | None = None
    dtmf_placement: DtmfPlacement = DtmfPlacement.DATA
    sb_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for sb-api")
    mtt_rpc_url: str | None = Field(
        default=None, description="JSON-RPC URL for getCallHistory/getCustomerBalance; off if unset"
    )
    mtt_customer_name: str | None = Field(
        default=None, description="account name for getCustomerBalance"
    )

    # MTT balance gate (workers' poller): no new calls while the account's money is out
    balance_poll_interval: float = Field(
        default=60.0,
        gt=0,
        description="seconds between getCustomerBalance polls (when DIALER_MTT_RPC_URL and "
        "DIALER_MTT_CUSTOMER_NAME are set)",
    )
    min_balance: Decimal = Field(
        default=Decimal(0),
        description="the pacer claims no new calls while the last balance read is at or below "
        "this (the account's currency)",
    )
    balance_max_age: float = Field(
        default=600.0,
        gt=0,
        description="seconds a balance read may gate dialing; an older one (polls failing) "
        "no longer stops it",
    )

    # webhooks and API
    public_url: str = "http://127.0.0.1:8000"
    webhook_token: SecretStr = SecretStr("")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    crm_callback_secret: SecretStr = SecretStr("")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    max_import_rows: int = Field(default=2_000_000, gt=0)
    # contacts import: the widest file taken (columns become per-contact variables)
    max_import_columns: int = Field(default=256, gt=0)

    # pacing and limits
    cps: float = Field(default=10.0, gt=0, description="global calls per second")
    cps_jitter: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="seconds a call request may take to reach MTT beyond the others; every "
        "1 s + this window admits at most CPS requests (costs this share of the rate)",
    )
    max_concurrent: int = Field(default=50, gt=0, description="global concurrent calls")
    final_event_timeout: float = Field(
        default=600.0, gt=0, description="seconds after sending with no final event: call is lost"
    )
    claim_lease: float = Field(
        default=60.0, gt=0, description="seconds a claimed/sending attempt may stay so"
    )
    pace_interval: float = Field(default=0.2, gt=0, description="seconds between pacer runs")
    min_listen_seconds: int = Field(default=3, ge=0)
    default_timezone: str = Field(
        default="Europe/Moscow",
        description="the service's home zone: new campaigns' schedule.timezone, the "
        "dashboard's day",
    )
    cause_map: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {"cause": "category"} fixing the Q.850 table without a release',
    )
    daily_answered_cap: int = Field(
        default=2, ge=0, description="answered calls per number per day across campaigns; 0 = off"
    )

    # network failures (causes of the `network` category): their own redial cap, and a spike of
    # them pausing the campaign (campaigns.spikes)
    network_cap: int = Field(
        default=5, ge=1, description="network-failed calls per contact before it ends network_error"
    )
    network_spike_window: float = Field(
        default=300.0, gt=0, description="seconds of finished calls a network spike is judged over"
    )
    network_spike_min_calls: int = Field(
        default=20, ge=1, description="finished calls in the window before a spike is judged"
    )
    network_spike_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="share of network failures among them that pauses the campaign",
    )

    # the live campaign page (issue 13)
    live_figures_max_age: float = Field(
        default=5.0,
        gt=0,
        description="seconds a campaign's live figures are served before a background recount",
    )

    # CRM callbacks: server-side request forgery guard
    callback_allow_private: bool = Field(
        default=False,
        description="let crm_callback_url reach loopback, private and link-local hosts "
        "(local demos and tests); off, callbacks go only to public addresses",
    )

    # web console (api/console, issue 12)
    console_idle_minutes: int = Field(
        default=120, gt=0, description="a console session ends after this long unused"
    )
    console_signin_limit: int = Field(
        default=5, gt=0, description="failed sign-ins a minute, per login and per client address"
    )

    # callee-local time: the numbering plan (DATA_DIR/numbering, from `dialer numbering update`)
    unknown_zone: UnknownZone = Field(
        default=UnknownZone.STRICT,
        description="callees of unknown zone: strict = only while the window is open in every "
        "Russian zone at once; default = in the campaign's zone (applied at import)",
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, OSError, ZoneInfoNotFoundError):
            raise ValueError(f"{value!r} is not an IANA time zone, e.g. Europe/Moscow") from None
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'dialer.db'}"

    @property
    def event_url(self) -> str:
        """The URL MTT posts events to (the token in the path is the secret)."""
        return f"{self.public_url.rstrip('/')}/webhooks/mtt/{self.webhook_token.get_secret_value()}"
