"""Console users and sessions on a real database: hashing, verification, roles, sessions'
idle timeout and their end on sign-out, password change and removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import sessions as console_sessions
from campaigns import users
from campaigns.db import write_transaction
from campaigns.errors import Conflict, Invalid, NotFound
from campaigns.users import Role
from tests.factories import T0

pytestmark = pytest.mark.any_db

Sessions = async_sessionmaker[AsyncSession]
IDLE = timedelta(minutes=30)
PASSWORD = "long enough password"


async def _user(db: Sessions, login: str = "Anna", role: Role = Role.MARKETER) -> int:
    async with write_transaction(db) as session:
        return (await users.create(session, login, PASSWORD, role, now=T0)).id


async def test_the_password_is_stored_only_as_an_argon2_hash(sessions: Sessions) -> None:
    await _user(sessions)

    async with sessions() as session:
        (found,) = await users.list_users(session)
        assert found.login == "anna"
        assert found.password_hash.startswith("$argon2id$")
        assert PASSWORD not in found.password_hash
        assert (await users.verify(session, " ANNA ", PASSWORD)) is not None
        assert await users.verify(session, "anna", "wrong password") is None
        assert await users.verify(session, "nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("login", "password", "field"),
    [
        ("", PASSWORD, "login"),
        ("a b", PASSWORD, "login"),
        ("анна", PASSWORD, "login"),
        ("x", "short", "password"),
    ],
)
async def test_bad_logins_and_passwords_name_the_field(
    sessions: Sessions, login: str, password: str, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        async with write_transaction(sessions) as session:
            await users.create(session, login, password, Role.ADMIN, now=T0)
    assert refused.value.field == field


async def test_a_login_exists_once(sessions: Sessions) -> None:
    await _user(sessions, "anna")
    with pytest.raises(Conflict):
        await _user(sessions, "ANNA")


async def test_a_disabled_user_cannot_sign_in_or_use_a_session(sessions: Sessions) -> None:
    user_id = await _user(sessions)
    async with write_transaction(sessions) as session:
        token = await sessions_create(session, user_id)
        (found,) = await users.list_users(session)
        found.disabled = True

    async with sessions() as session:
        assert await users.verify(session, "anna", PASSWORD) is None
        assert await console_sessions.look_up(session, token, now=T0, idle=IDLE) is None


async def sessions_create(session: AsyncSession, user_id: int) -> str:
    return await console_sessions.create(session, user_id, now=T0)


@pytest.mark.parametrize(
    ("unused", "alive"), [(timedelta(0), True), (IDLE - timedelta(seconds=1), True), (IDLE, False)]
)
async def test_a_session_ends_after_the_idle_timeout(
    sessions: Sessions, unused: timedelta, alive: bool
) -> None:
    user_id = await _user(sessions)
    async with write_transaction(sessions) as session:
        token = await sessions_create(session, user_id)

    async with sessions() as session:
        found = await console_sessions.look_up(session, token, now=T0 + unused, idle=IDLE)
    assert (found is not None) is alive


async def test_touching_keeps_a_session_alive(sessions: Sessions) -> None:
    user_id = await _user(sessions)
    async with write_transaction(sessions) as session:
        token = await sessions_create(session, user_id)
    later = T0 + IDLE - timedelta(minutes=1)
    async with sessions() as session:
        identity = await console_sessions.look_up(session, token, now=later, idle=IDLE)
    assert identity is not None
    assert console_sessions.needs_touch(identity, later)
    async with write_transaction(sessions) as session:
        await console_sessions.touch(session, identity, now=later)

    async with sessions() as session:
        assert await console_sessions.look_up(session, token, now=T0 + IDLE, idle=IDLE) is not None


async def test_the_table_holds_no_token(sessions: Sessions) -> None:
    user_id = await _user(sessions)
    async with write_transaction(sessions) as session:
        token = await sessions_create(session, user_id)
    async with sessions() as session:
        identity = await console_sessions.look_up(session, token, now=T0, idle=IDLE)
    assert identity is not None
    assert identity.token_hash != token
    assert len(identity.token_hash) == 64


async def test_password_change_and_removal_end_every_session(sessions: Sessions) -> None:
    user_id = await _user(sessions)
    async with write_transaction(sessions) as session:
        first, second = [await sessions_create(session, user_id) for _ in range(2)]
        await users.set_password(session, "anna", "a new password", now=T0)

    async with sessions() as session:
        for token in (first, second):
            assert await console_sessions.look_up(session, token, now=T0, idle=IDLE) is None
        assert await users.verify(session, "anna", "a new password") is not None
    async with write_transaction(sessions) as session:
        third = await sessions_create(session, user_id)
        await users.remove(session, "anna")
    async with sessions() as session:
        assert await console_sessions.look_up(session, third, now=T0, idle=IDLE) is None
    with pytest.raises(NotFound):
        async with write_transaction(sessions) as session:
            await users.remove(session, "anna")


async def _change(db: Sessions, login: str, change: str) -> None:
    async with write_transaction(db) as session:
        if change == "demote":
            await users.set_role(session, login, Role.MARKETER)
        else:
            await users.set_disabled(session, login, True)


@pytest.mark.parametrize("change", ["demote", "disable"])
@pytest.mark.parametrize(
    ("others", "allowed"),
    [
        ([], False),
        ([("other", Role.ADMIN, False)], True),
        ([("other", Role.ADMIN, True)], False),
        ([("other", Role.MARKETER, False)], False),
    ],
)
async def test_the_last_enabled_admin_keeps_their_rights(
    sessions: Sessions,
    change: str,
    others: list[tuple[str, Role, bool]],
    allowed: bool,
) -> None:
    await _user(sessions, "root", Role.ADMIN)
    for login, role, disabled in others:
        await _user(sessions, login, role)
        if disabled:
            async with write_transaction(sessions) as session:
                (await users.get(session, login)).disabled = True

    if allowed:
        await _change(sessions, "root", change)
    else:
        with pytest.raises(Conflict, match="last enabled admin"):
            await _change(sessions, "root", change)

    async with sessions() as session:
        root = await users.get(session, "root")
        assert (root.role == "admin" and not root.disabled) is not allowed


async def test_disabling_ends_the_sessions_and_enabling_lets_them_sign_in(
    sessions: Sessions,
) -> None:
    user_id = await _user(sessions)
    async with write_transaction(sessions) as session:
        token = await console_sessions.create(session, user_id, now=T0)
        await users.set_disabled(session, "anna", True)

    async with sessions() as session:
        assert await console_sessions.look_up(session, token, now=T0, idle=IDLE) is None
        assert await users.verify(session, "anna", PASSWORD) is None
    async with write_transaction(sessions) as session:
        await users.set_disabled(session, "anna", False)
    async with sessions() as session:
        assert await users.verify(session, "anna", PASSWORD) is not None
