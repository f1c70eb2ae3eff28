"""The `dialer` command: the single composition root (docs/design.md §3).

Commands import the rest of the service lazily, so `dialer --help` stays fast and the lower
layers never see the upper ones.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dialer.settings import Settings
from dialer.shell.campaign_cli import app as campaign
from dialer.shell.runtime import tune_garbage_collector
from dialer.shell.simulate_cli import simulate  # typer + pydantic only: --help stays fast
from dialer.shell.up import command as up
from dialer.shell.user_cli import app as user

app = typer.Typer(
    help="Outbound informing-call dialer on MTT's sb-api.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    return Settings()


app.command(name="simulate")(simulate)
app.command(name="up")(up)
app.add_typer(campaign, name="campaign")
app.add_typer(user, name="user")


def _logging() -> None:
    import logging

    from api.log_redaction import RedactQuerySecrets

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactQuerySecrets())
    # httpx logs every request's full URL at INFO: ours carry the webhook token in the path
    logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
def api() -> None:
    """Serve the REST API, uploads, exports, the webhook collector, /healthz and /metrics."""
    import uvicorn

    from api.app import create_app, uvicorn_log_config

    settings = _settings()
    application = create_app(settings)
    tune_garbage_collector()
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_config=uvicorn_log_config(),
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker() -> None:
    """Run one arq worker: pacing, dialing, redial scheduling, sweeping, CRM callbacks."""
    from workers.runner import run

    _logging()
    settings = _settings()
    tune_garbage_collector()
    run(settings)


db = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db, name="db")


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (DIALER_DATABASE_URL, else DATA_DIR/dialer.db) to the newest schema."""
    import asyncio

    from campaigns.db import upgrade

    asyncio.run(upgrade(_settings().database))


numbering = typer.Typer(help="Russia's numbering plan: each number's region, operator and zone.")
app.add_typer(numbering, name="numbering")


@numbering.command("update")
def numbering_update(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="registry files (ABC-3xx, ABC-4xx, ABC-8xx, DEF-9xx): paths or URLs",
            metavar="FILE_OR_URL...",
        ),
    ],
) -> None:
    """Load newer numbering-plan registry files into DATA_DIR; the service uses them from its
    next start. A bad file is refused, naming its line, and nothing is written."""
    from datetime import UTC, datetime

    from dialer.telecom.numbering import RegistryError
    from dialer.telecom.numbering_build import update

    settings = _settings()
    try:
        plan = update(sources, settings.data_dir, datetime.now(UTC))
    except RegistryError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(plan)} ranges from {', '.join(plan.meta['files'])} in {settings.data_dir}")


def main() -> None:
    app()
