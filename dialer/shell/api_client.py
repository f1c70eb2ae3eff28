"""A small synchronous client of the service's REST API (docs/design.md §9), for the `campaign` CLI.

It speaks HTTP only, so the CLI works against any running deployment and dialer/ stays free
of the campaign layer. The API key is sent as a bearer token and appears in no repr or error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import httpx
from pydantic import SecretStr

from dialer.settings import Settings
from dialer.shell import local_secrets

Action = Literal["start", "pause", "resume", "cancel"]
ExportFormat = Literal["csv", "xlsx"]
ExportLevel = Literal["contacts", "attempts"]
Progress = Callable[[int], None]
"""Called with the number of bytes just moved."""

FINISHED_STATUSES = frozenset({"completed", "cancelled"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names the wildcard, binds nothing
DOWNLOAD_CHUNK = 64 * 1024


class ServiceError(RuntimeError):
    """An answer other than 2xx, with the error body of docs/design.md §9 when the service sent
    one."""

    def __init__(self, status: int, code: str, message: str, details: object = None) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class NoApiKey(RuntimeError):
    """No key given, none configured, and no DATA_DIR/secrets.json from `dialer up`."""


def local_url(settings: Settings) -> str:
    """Where a process on this machine reaches the API that `settings` describe."""
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def resolve_api_key(settings: Settings, given: str | None) -> SecretStr:
    """The key given, else the first of DIALER_API_KEYS, else the one `dialer up` generated."""
    if given:
        return SecretStr(given)
    if settings.api_keys:
        return settings.api_keys[0]
    stored = local_secrets.load(settings.data_dir)
    if stored is not None:
        return stored.api_key
    raise NoApiKey(
        "no API key: pass --api-key, set DIALER_API_KEY or DIALER_API_KEYS, or run "
        f"`dialer up` once with this DATA_DIR ({settings.data_dir})"
    )


class _CountingReader:
    """A binary file whose reads report progress; httpx streams multipart parts through read()."""

    def __init__(self, handle: IO[bytes], progress: Progress) -> None:
        self._handle = handle
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._progress(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()


class DialerClient:
    """One connection pool to the API; use as a context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key.get_secret_value()}"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"DialerClient({self.base_url!r})"

    def __enter__(self) -> DialerClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def create_campaign(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self._send("POST", "/v1/campaigns", json=dict(body)))

    def list_campaigns(self) -> list[dict[str, Any]]:
        """Every campaign, newest first, following the pages."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {} if cursor is None else {"cursor": cursor}
            page = _object(self._send("GET", "/v1/campaigns", params=params))
            items += page.get("items") or []
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        return _object(self._send("GET", f"/v1/campaigns/{campaign_id}"))

    def waiting(self, campaign_id: str) -> list[dict[str, Any]]:
        """The campaign's waiting contacts counted by reason."""
        items = _object(self._send("GET", f"/v1/campaigns/{campaign_id}/waiting")).get("items")
        return list(items or [])

    def change(self, campaign_id: str, action: Action) -> dict[str, Any]:
        return _object(self._send("POST", f"/v1/campaigns/{campaign_id}/{action}"))

    def upload_contacts(
        self,
        campaign_id: str,
        path: Path,
        *,
        phone_column: str | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Send a CSV/XLSX file; the answer is the import report."""
        fields = (("phone_column", phone_column), ("delimiter", delimiter), ("encoding", encoding))
        form = {key: value for key, value in fields if value is not None}
        with path.open("rb") as handle:
            body: IO[bytes] | _CountingReader = (
                handle if progress is None else _CountingReader(handle, progress)
            )
            answer = self._send(
                "POST",
                f"/v1/campaigns/{campaign_id}/contacts",
                files={"file": (path.name, body)},
                data=form,
            )
        return _object(answer)

    def export(
        self,
        campaign_id: str,
        target: IO[bytes],
        *,
        file_format: ExportFormat = "csv",
        level: ExportLevel = "contacts",
        progress: Callable[[int, int | None], None] | None = None,
    ) -> int:
        """Stream the results file into `target`; returns the bytes written.

        `progress(moved, total)` gets the total when the server sends a Content-Length.
        """
        params = {"format": file_format, "level": level}
        written = 0
        with self._http.stream(
            "GET", f"/v1/campaigns/{campaign_id}/export", params=params
        ) as answer:
            if answer.is_error:
                answer.read()
                raise _error(answer)
            length = answer.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            for chunk in answer.iter_bytes(DOWNLOAD_CHUNK):
                target.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk), total)
        return written

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = self._http.request(method, path, **kwargs)
        if answer.is_error:
            raise _error(answer)
        return answer


def progress_of(campaign: Mapping[str, Any]) -> tuple[int, int]:
    """(contacts done, contacts in total) from a campaign's live stats."""
    stats = campaign.get("stats") or {}
    by_status = stats.get("by_status") or {}
    return int(by_status.get("done", 0)), int(stats.get("total", 0))


def is_finished(campaign: Mapping[str, Any]) -> bool:
    return campaign.get("status") in FINISHED_STATUSES


def _object(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    if not isinstance(body, dict):
        raise ServiceError(
            answer.status_code, "unexpected_answer", f"{answer.url.path}: not an object"
        )
    return body


def _error(answer: httpx.Response) -> ServiceError:
    try:
        body = answer.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return ServiceError(
            answer.status_code,
            str(error.get("code", "error")),
            str(error.get("message", "")),
            error.get("details"),
        )
    text = answer.text[:200].strip() or answer.reason_phrase
    return ServiceError(
        answer.status_code, "http_error", f"{answer.request.method} {answer.url.path}: {text}"
    )
