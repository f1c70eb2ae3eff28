"""`dialer user …`: console users, straight in the database (DIALER_DATABASE_URL or DATA_DIR).

Part of the composition root (`dialer.shell.cli`): the campaign layer is imported inside the
commands, so `dialer --help` stays fast and the modules below never see it. Passwords come
from a hidden prompt or from standard input, never from the command line.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from dialer.settings import Settings
from dialer.shell import local_secrets

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="Users of the web console.", no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
ADMIN_LOGIN = "admin"


class RoleChoice(StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"


Login = Annotated[str, typer.Argument(help="the user's login", show_default=False)]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _run(work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True) -> T:
    """`work` in one transaction; a business error is printed and exits 1."""
    from campaigns.db import create_engine, session_factory, write_transaction
    from campaigns.errors import CampaignError

    async def main() -> T:
        engine = create_engine(Settings().database)
        try:
            sessions = session_factory(engine)
            if write:
                async with write_transaction(sessions) as session:
                    return await work(session)
            async with sessions() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except CampaignError as error:
        err.print(f"dialer user: {error.message}", style="red", markup=False)
        raise typer.Exit(1) from None


@app.command("add")
def add(
    login: Login,
    role: Annotated[RoleChoice, typer.Option(help="admin: users and do-not-call too")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user."""
    from campaigns import users

    password = _password(password_stdin)
    now = datetime.now(UTC)
    user = _run(lambda s: users.create(s, login, password, users.Role(role.value), now=now))
    out.print(f"user {user.login} added ({user.role})", markup=False)


@app.command("list")
def list_() -> None:
    """The users: login, role, disabled, created."""
    from campaigns import users

    table = Table("login", "role", "disabled", "created")
    for user in _run(users.list_users, write=False):
        table.add_row(
            user.login, user.role, "yes" if user.disabled else "", f"{user.created_at:%Y-%m-%d}"
        )
    out.print(table)


@app.command("passwd")
def passwd(login: Login, password_stdin: PasswordStdin = False) -> None:
    """Set a new password; the user's console sessions end."""
    from campaigns import users

    password = _password(password_stdin)
    now = datetime.now(UTC)
    _run(lambda s: users.set_password(s, login, password, now=now))
    out.print(f"password of {login} changed; their sessions ended", markup=False)


@app.command("remove")
def remove(login: Login) -> None:
    """Remove a user and end their sessions."""
    from campaigns import users

    _run(lambda s: users.remove(s, login))
    out.print(f"user {login} removed", markup=False)


@app.command("bootstrap", hidden=True)
def bootstrap() -> None:
    """`dialer up`'s first run: the `admin` user with the password in DATA_DIR/secrets.json,
    when the console has no user yet."""
    from campaigns import users

    stored, _ = local_secrets.load_or_create(Settings().data_dir)
    password = stored.admin_password.get_secret_value()
    now = datetime.now(UTC)

    async def ensure(session: AsyncSession) -> None:
        if not await users.any_user(session):
            await users.create(session, ADMIN_LOGIN, password, users.Role.ADMIN, now=now)

    _run(ensure)
