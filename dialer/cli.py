"""The `dialer` command: the single composition root (DESIGN §3).

Commands import the rest of the service lazily, so `dialer --help` stays fast and the lower
layers never see the upper ones.
"""

from __future__ import annotations

import typer

from dialer.settings import Settings
from dialer.simulator.command import simulate  # typer + pydantic only: --help stays fast

app = typer.Typer(
    help="Outbound informing-call dialer on MTT's sb-api.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    return Settings()


app.command(name="simulate")(simulate)


@app.command()
def api() -> None:
    """Serve the REST API, uploads, exports, the webhook collector, /healthz and /metrics."""
    typer.echo("the API arrives with the call-path issue", err=True)
    raise typer.Exit(2)


@app.command()
def worker() -> None:
    """Run one arq worker: pacing, dialing, redial scheduling, sweeping, CRM callbacks."""
    typer.echo("the worker arrives with the call-path issue", err=True)
    raise typer.Exit(2)


@app.command()
def up() -> None:
    """Run everything on one machine: Redis, SQLite, API, a worker (+ simulator without MTT)."""
    typer.echo("`dialer up` arrives with its own issue", err=True)
    raise typer.Exit(2)


db = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db, name="db")


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (DIALER_DATABASE_URL, else DATA_DIR/dialer.db) to the newest schema."""
    import asyncio

    from campaigns.db import upgrade

    asyncio.run(upgrade(_settings().database))


def main() -> None:
    app()
