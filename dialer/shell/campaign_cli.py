"""`dialer campaign …`: campaigns on a running service, over its REST API only.

The URL defaults to this machine's HOST:PORT and the key to the one `dialer up` generated, so
after `dialer up` a newcomer needs no flags. Long work (upload, calling, download) shows a
progress bar.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from dialer.settings import Settings
from dialer.shell.api_client import (
    Action,
    DialerClient,
    ExportFormat,
    ExportLevel,
    NoApiKey,
    ServiceError,
    is_finished,
    local_url,
    progress_of,
    resolve_api_key,
)
from dialer.shell.local_secrets import SecretsFileError

app = typer.Typer(
    help="Campaigns on a running service (talks to its REST API).", no_args_is_help=True
)
out = Console()
err = Console(stderr=True, soft_wrap=True)

REJECTIONS_SHOWN = 10
STOPPED_STATUSES = frozenset({"draft", "paused"})
"""Statuses a watch ends at besides the finished ones: nothing will change by itself."""

CampaignId = Annotated[str, typer.Argument(help="campaign id", show_default=False)]


@dataclass(frozen=True)
class Target:
    url: str | None
    api_key: str | None


@app.callback()
def connection(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            help="API base URL; default http://HOST:PORT of the settings", show_default=False
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="DIALER_API_KEY",
            help="API key; default: DIALER_API_KEYS, else DATA_DIR/secrets.json of `dialer up`",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = Target(url, api_key)


@contextmanager
def _client(ctx: typer.Context) -> Iterator[DialerClient]:
    """A client for the target; API and transport errors become a one-line message and exit 1."""
    target: Target = ctx.obj
    settings = Settings()
    base_url = target.url or local_url(settings)
    try:
        key = resolve_api_key(settings, target.api_key)
    except (NoApiKey, SecretsFileError) as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None
    try:
        with DialerClient(base_url, key) as client:
            yield client
    except ServiceError as exc:
        err.print(str(exc), style="red", markup=False)
        if exc.details:
            err.print(json.dumps(exc.details, ensure_ascii=False, indent=2), markup=False)
        raise typer.Exit(1) from None
    except httpx.TransportError as exc:
        problem = f"cannot reach the API at {base_url} ({exc}): is `dialer up` running?"
        err.print(problem, style="red", markup=False)
        raise typer.Exit(1) from None


@app.command()
def create(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option(help="contacts: CSV or XLSX", exists=True, dir_okay=False, show_default=False),
    ] = None,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help="campaign body as JSON (see examples/campaign.json)",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="default: the file's name")] = None,
    message: Annotated[
        str | None,
        typer.Option(help="TTS text; {column} inserts a file column", show_default=False),
    ] = None,
    phone_column: Annotated[str | None, typer.Option(show_default=False)] = None,
    delimiter: Annotated[str | None, typer.Option(help="default: detected")] = None,
    encoding: Annotated[
        str | None, typer.Option(help="the CSV's encoding, e.g. koi8-r; default: detected")
    ] = None,
    start: Annotated[bool, typer.Option(help="start calling after the upload")] = True,
    watch: Annotated[bool, typer.Option(help="show progress until the campaign ends")] = True,
) -> None:
    """Create a campaign, upload its contacts, start it and watch it to the end."""
    body = campaign_body(settings_file, name=name, message=message, file=file)
    with _client(ctx) as client:
        campaign = client.create_campaign(body)
        campaign_id = str(campaign["id"])
        out.print(f"campaign [bold]{campaign_id}[/bold] created: {campaign.get('name', '')}")
        if file is not None:
            report = _upload(client, campaign_id, file, phone_column, delimiter, encoding)
            print_report(report)
        if not start:
            return
        campaign = client.change(campaign_id, "start")
        out.print(f"campaign {campaign_id}: {campaign.get('status')}")
        if watch:
            _print_outcome(_watch(client, campaign_id, interval=1.0))


def campaign_body(
    settings_file: Path | None, *, name: str | None, message: str | None, file: Path | None
) -> dict[str, Any]:
    """The POST body: the JSON file's settings with the command line's name and message on top."""
    body: dict[str, Any] = {}
    if settings_file is not None:
        try:
            loaded = json.loads(settings_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"{settings_file}: {exc}", param_hint="--settings") from None
        if not isinstance(loaded, dict):
            raise typer.BadParameter(f"{settings_file}: not a JSON object", param_hint="--settings")
        body = loaded
    if message is not None:
        body["message"] = message
    if name is not None:
        body["name"] = name
    elif "name" not in body:
        body["name"] = file.stem if file is not None else "campaign"
    if "message" not in body:
        raise typer.BadParameter(
            "give --message or a --settings file with one", param_hint="--message"
        )
    return body


def _upload(
    client: DialerClient,
    campaign_id: str,
    file: Path,
    phone_column: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task(f"uploading {file.name}", total=file.stat().st_size)
        return client.upload_contacts(
            campaign_id,
            file,
            phone_column=phone_column,
            delimiter=delimiter,
            encoding=encoding,
            progress=lambda moved: bar.advance(task, moved),
        )


def print_report(report: Mapping[str, Any]) -> None:
    out.print(
        f"rows {report.get('rows', 0)}: accepted {report.get('accepted', 0)}, "
        f"duplicates {report.get('duplicates', 0)}, do-not-call {report.get('dnc', 0)}, "
        f"rejected {report.get('rejected_count', 0)}"
    )
    rejected = list(report.get("rejected") or [])
    if not rejected:
        return
    table = Table("line", "column", "value", "reason", title="rejected rows")
    for row in rejected[:REJECTIONS_SHOWN]:
        table.add_row(*(str(row.get(key, "")) for key in ("line", "column", "value", "reason")))
    out.print(table)
    if len(rejected) > REJECTIONS_SHOWN:
        out.print(f"… and {len(rejected) - REJECTIONS_SHOWN} more")


@app.command(name="list")
def list_campaigns(ctx: typer.Context) -> None:
    """Every campaign with its progress."""
    with _client(ctx) as client:
        campaigns = client.list_campaigns()
    table = Table("id", "name", "status", "done", "attempts")
    for item in campaigns:
        done, total = progress_of(item)
        attempts = (item.get("stats") or {}).get("attempts", "")
        table.add_row(
            str(item.get("id", "")),
            str(item.get("name", "")),
            str(item.get("status", "")),
            f"{done}/{total}",
            str(attempts),
        )
    out.print(table)


@app.command()
def show(
    ctx: typer.Context,
    campaign_id: CampaignId,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's answer")] = False,
) -> None:
    """A campaign's settings summary, live stats and why its waiting contacts wait."""
    with _client(ctx) as client:
        campaign = client.campaign(campaign_id)
        waiting = client.waiting(campaign_id)
    if as_json:
        typer.echo(json.dumps(campaign | {"waiting": waiting}, ensure_ascii=False, indent=2))
        return
    done, total = progress_of(campaign)
    out.print(f"[bold]{campaign.get('name', '')}[/bold] (id {campaign.get('id')})")
    reason = campaign.get("status_reason")
    out.print(f"status: {campaign.get('status')}" + (f" — {reason}" if reason else ""))
    out.print(f"purpose: {campaign.get('purpose', 'informing')}")
    out.print(f"contacts done: {done}/{total}")
    _print_outcome(campaign)
    _print_waiting(waiting)


def _print_waiting(groups: list[dict[str, Any]]) -> None:
    """Why the waiting contacts are not being called, and the earliest time each is known."""
    if not groups:
        return
    table = Table("waiting reason", "contacts", "next attempt (UTC)", title="waiting contacts")
    for group in groups:
        at = group.get("next_attempt_at")
        table.add_row(str(group.get("reason")), str(group.get("contacts")), at or "—")
    out.print(table)


def _print_outcome(campaign: Mapping[str, Any]) -> None:
    stats = campaign.get("stats") or {}
    table = Table(
        "outcome", "contacts", title=f"campaign {campaign.get('id')}: {campaign.get('status')}"
    )
    for outcome, count in sorted((stats.get("by_outcome") or {}).items()):
        table.add_row(str(outcome), str(count))
    out.print(table)
    attempts, listened = stats.get("attempts", 0), stats.get("listened_seconds", 0)
    out.print(f"attempts: {attempts}, listened seconds: {listened}")
    reason = campaign.get("status_reason")
    if campaign.get("status") == "paused" and reason:
        out.print(f"[yellow]paused: {reason}[/yellow]")


def _change(ctx: typer.Context, campaign_id: str, action: Action) -> None:
    with _client(ctx) as client:
        campaign = client.change(campaign_id, action)
    out.print(f"campaign {campaign_id}: {campaign.get('status')}")


@app.command(name="start")
def start_campaign(ctx: typer.Context, campaign_id: CampaignId) -> None:
    """Start calling (a draft, or a scheduled campaign now)."""
    _change(ctx, campaign_id, "start")


@app.command()
def pause(ctx: typer.Context, campaign_id: CampaignId) -> None:
    """Stop placing new calls; calls in progress finish."""
    _change(ctx, campaign_id, "pause")


@app.command()
def resume(ctx: typer.Context, campaign_id: CampaignId) -> None:
    """Continue a paused campaign."""
    _change(ctx, campaign_id, "resume")


@app.command()
def cancel(ctx: typer.Context, campaign_id: CampaignId) -> None:
    """End the campaign for good; contacts not yet done become `cancelled`."""
    _change(ctx, campaign_id, "cancel")


@app.command()
def watch(
    ctx: typer.Context,
    campaign_id: CampaignId,
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between polls")] = 1.0,
) -> None:
    """A progress bar until the campaign completes, is cancelled or stops (paused, draft)."""
    with _client(ctx) as client:
        _print_outcome(_watch(client, campaign_id, interval=interval))


def _watch(client: DialerClient, campaign_id: str, *, interval: float) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[outcomes]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out) as bar:
        task = bar.add_task("", total=None, outcomes="")
        while True:
            campaign = client.campaign(campaign_id)
            done, total = progress_of(campaign)
            outcomes = (campaign.get("stats") or {}).get("by_outcome") or {}
            bar.update(
                task,
                completed=done,
                total=total or None,
                description=f"campaign {campaign_id} {campaign.get('status')}",
                outcomes=" ".join(f"{key}={value}" for key, value in sorted(outcomes.items())),
            )
            if is_finished(campaign) or campaign.get("status") in STOPPED_STATUSES:
                return campaign
            time.sleep(interval)


@app.command()
def export(
    ctx: typer.Context,
    campaign_id: CampaignId,
    file_format: Annotated[ExportFormat, typer.Option("--format")] = "csv",
    level: Annotated[ExportLevel, typer.Option(help="one row per contact or per attempt")] = (
        "contacts"
    ),
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="default: campaign-<id>[-attempts].<format>", show_default=False
        ),
    ] = None,
) -> None:
    """Download the results file."""
    suffix = "" if level == "contacts" else f"-{level}"
    target = output or Path(f"campaign-{campaign_id}{suffix}.{file_format}")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    partial = target.with_name(f".{target.name}.partial")
    with _client(ctx) as client, Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task(f"downloading {target.name}", total=None)

        def moved(size: int, total: int | None) -> None:
            bar.update(task, advance=size, total=total)

        try:
            with partial.open("wb") as handle:
                written = client.export(
                    campaign_id, handle, file_format=file_format, level=level, progress=moved
                )
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    out.print(f"{target}: {written} bytes")
