"""Pages that show the domain's reasons: Russian on a Russian page, the domain's English on an
English one (the language cookie), over the real app."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.console.web import LANG_COOKIE
from api.resources import app_resources
from campaigns import dnc
from campaigns.db import write_transaction
from campaigns.idle import ACCOUNT_REFUSED_PREFIX
from campaigns.states import DncSource
from campaigns.tables import Event
from campaigns.users import Role
from dialer.telecom.events import EventParseError, parse_body
from tests.api.console.support import UPLOAD, add_user, form_body, signed_in, upload_file
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import T0, make_attempt

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
REASONS = {
    "ru": (
        "слишком короткий: 5 цифр (нужно 11)",
        "не номер телефона",
        "номер записан как число с порядком и потерял цифры: сделайте столбец текстовым",
    ),
    "en": (
        "too short: 5 digits (sb-api takes exactly 11)",
        "not a number",
        "scientific notation has lost digits: format the column as text",
    ),
}


async def _signed_in(app: FastAPI, client: httpx.AsyncClient, lang: str) -> str:
    await add_user(app_resources(app).sessions)
    client.cookies.set(LANG_COOKIE, lang)
    return await signed_in(client)


async def _uploaded(client: httpx.AsyncClient, csrf: str) -> tuple[httpx.Response, str]:
    preview = await upload_file(client, csrf, "c.csv", (EXAMPLES / "customers.csv").read_bytes())
    found = UPLOAD.search(preview.text)
    assert found is not None, preview.text
    return preview, found.group(1)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_import_report_words_rejected_rows_in_the_pages_language(
    app: FastAPI, client: httpx.AsyncClient, lang: str
) -> None:
    csrf = await _signed_in(app, client, lang)
    _, upload = await _uploaded(client, csrf)

    created = await client.post("/campaigns/new", data=form_body(csrf, upload))
    report = await client.get(created.headers["location"])

    assert created.status_code == 303, created.text
    cells = re.findall(r"<td>([^<]*)</td></tr>", report.text)
    assert cells == list(REASONS[lang])


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_file_preview_words_phone_problems_in_the_pages_language(
    app: FastAPI, client: httpx.AsyncClient, lang: str
) -> None:
    csrf = await _signed_in(app, client, lang)

    preview, _ = await _uploaded(client, csrf)

    assert f"⚠ {REASONS[lang][0]}" in preview.text


@pytest.mark.parametrize(
    ("lang", "name_error", "redial_error", "dtmf_error"),
    [
        (
            "ru",
            "заполните поле",
            "минуты через запятую",
            "клавиша 1 назначена нескольким действиям",
        ),
        (
            "en",
            "String should have at least 1 character",
            "minutes, separated by commas",
            "digit 1 is used by more than one action",
        ),
    ],
)
async def test_the_new_campaign_form_words_its_errors_in_the_pages_language(
    app: FastAPI,
    client: httpx.AsyncClient,
    lang: str,
    name_error: str,
    redial_error: str,
    dtmf_error: str,
) -> None:
    csrf = await _signed_in(app, client, lang)
    _, upload = await _uploaded(client, csrf)

    answer = await client.post(
        "/campaigns/new",
        data=form_body(
            csrf,
            upload,
            name="",
            redial_busy="soon",
            dtmf_digit=["1", "1", ""],
            dtmf_action=["notify", "opt_out", ""],
        ),
    )

    assert answer.status_code == 422
    assert f'id="name-error" role="alert">{name_error}<' in answer.text
    assert f'id="redial_busy-error" role="alert">{redial_error}<' in answer.text
    assert f'id="dtmf-error" role="alert">{dtmf_error}<' in answer.text


@pytest.mark.parametrize(
    ("lang", "problem"),
    [
        ("ru", "12345: номер: слишком короткий: 5 цифр (нужно 11)"),
        ("en", "12345: phone: too short: 5 digits (sb-api takes exactly 11)"),
    ],
)
async def test_a_refused_do_not_call_number_is_explained_in_the_pages_language(
    app: FastAPI, client: httpx.AsyncClient, lang: str, problem: str
) -> None:
    await add_user(app_resources(app).sessions, login="root", role=Role.ADMIN)
    client.cookies.set(LANG_COOKIE, lang)
    csrf = await signed_in(client, "root")

    answer = await client.post("/dnc/add", data={"csrf_token": csrf, "phone": "12345"})
    page = await client.get(answer.headers["location"])

    assert f'role="alert">{problem}<' in page.text


@pytest.mark.parametrize(
    ("lang", "problem"),
    [
        ("ru", "слишком короткий: 5 цифр (нужно 11)"),
        ("en", "too short: 5 digits (sb-api takes exactly 11)"),
    ],
)
async def test_a_refused_test_call_is_explained_in_the_pages_language(
    app: FastAPI, client: httpx.AsyncClient, lang: str, problem: str
) -> None:
    csrf = await _signed_in(app, client, lang)

    answer = await client.post(
        "/calls/test",
        data=form_body(csrf, "", message="Привет", test_phone="12345"),
        headers={"HX-Request": "true"},
    )

    assert problem in answer.text


@pytest.mark.parametrize(
    ("lang", "reason", "shown"),
    [
        (
            "ru",
            f"{ACCOUNT_REFUSED_PREFIX}: 403 Forbidden",
            "МТТ (sb-api) отказал в доступе к аккаунту: 403 Forbidden",
        ),
        ("ru", "paused by anna", "приостановил(а): anna"),
        (
            "en",
            f"{ACCOUNT_REFUSED_PREFIX}: 403 Forbidden",
            f"{ACCOUNT_REFUSED_PREFIX}: 403 Forbidden",
        ),
    ],
)
async def test_the_campaign_list_words_the_pause_reason_in_the_pages_language(
    app: FastAPI, client: httpx.AsyncClient, lang: str, reason: str, shown: str
) -> None:
    await _signed_in(app, client, lang)
    await insert_campaign(app_resources(app).sessions, status="paused", status_reason=reason)

    listing = await client.get("/campaigns")

    assert f'<div class="muted small">{shown}</div>' in listing.text


@pytest.mark.parametrize(
    ("lang", "problem"),
    [
        ("ru", "в статусе «Черновик»: действие «Приостановить» недоступно"),
        ("en", "is draft: cannot pause it"),
    ],
)
async def test_an_illegal_action_is_explained_in_the_pages_language(
    app: FastAPI, client: httpx.AsyncClient, lang: str, problem: str
) -> None:
    csrf = await _signed_in(app, client, lang)
    draft = await insert_campaign(app_resources(app).sessions, status="draft")

    answer = await client.post(f"/campaigns/{draft}/pause", data={"csrf_token": csrf})
    shown = await client.get(answer.headers["location"])

    assert f"{draft} {problem}" in shown.text


@pytest.mark.parametrize(
    ("lang", "line"),
    [("ru", "непарная скобка '{' на позиции 8"), ("en", "unmatched '{' at position 8")],
)
async def test_the_message_preview_words_a_rows_template_error(
    app: FastAPI, client: httpx.AsyncClient, lang: str, line: str
) -> None:
    csrf = await _signed_in(app, client, lang)
    data = "phone;text\n79161234567;Привет {\n".encode()
    upload = UPLOAD.search((await upload_file(client, csrf, "t.csv", data)).text)
    assert upload is not None

    preview = await client.post(
        "/campaigns/new/message",
        data={"csrf_token": csrf, "upload": upload.group(1), "message": "Здравствуйте"},
    )

    assert f"<q>{line}" in preview.text.replace("&#39;", "'")


@pytest.mark.parametrize(
    ("source", "reason", "shown"),
    [
        (DncSource.DTMF, "DTMF 9 opt-out in campaign 4", "отказ клавишей 9 в кампании 4"),
        (DncSource.MANUAL, "not a number", "not a number"),
        (DncSource.MANUAL, "empty", "empty"),
    ],
)
async def test_the_do_not_call_list_words_its_own_reasons_and_keeps_the_users(
    app: FastAPI, client: httpx.AsyncClient, source: DncSource, reason: str, shown: str
) -> None:
    await add_user(app_resources(app).sessions, login="root", role=Role.ADMIN)
    await signed_in(client, "root")
    async with write_transaction(app_resources(app).sessions) as session:
        await session.run_sync(dnc.add, "79161234567", source=source, now=T0, reason=reason)

    listing = await client.get("/dnc")

    assert f"<td>{shown}</td>" in listing.text


@pytest.mark.parametrize(
    ("reason", "detail"),
    [(f"{ACCOUNT_REFUSED_PREFIX}: empty", "empty"), ("paused by anna", "приостановил(а): anna")],
)
async def test_the_campaign_page_words_the_pause_detail_but_keeps_mtts_words(
    app: FastAPI, client: httpx.AsyncClient, reason: str, detail: str
) -> None:
    await _signed_in(app, client, "ru")
    paused = await insert_campaign(
        app_resources(app).sessions, status="paused", status_reason=reason
    )

    shown = await client.get(f"/campaigns/{paused}")

    assert f'<span class="muted small">({detail})</span>' in shown.text


def _parse_error(body: bytes) -> str:
    with pytest.raises(EventParseError) as refused:
        parse_body(body, "application/json", {})
    return str(refused.value)


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        ("ru", "поле 'dtmf' '0' — не цифра от 1 до 9 и не 'null'"),
        ("en", "field 'dtmf' value '0' is not a digit 1..9 or 'null'"),
    ],
)
async def test_the_contact_history_words_a_webhook_parse_error_in_the_pages_language(
    app: FastAPI, client: httpx.AsyncClient, lang: str, shown: str
) -> None:
    await _signed_in(app, client, lang)
    sessions = app_resources(app).sessions
    campaign_id = await insert_campaign(sessions)
    [contact_id] = await insert_contacts(sessions, campaign_id, [1], status="done")
    body = b'{"event": "o_79161234567", "id": "1", "dtmf": "0"}'
    async with write_transaction(sessions) as session:
        attempt = make_attempt(contact_id=contact_id, campaign_id=campaign_id)
        session.add(attempt)
        await session.flush()
        error = _parse_error(body)
        session.add(
            Event(received_at=T0, body=body.decode(), attempt_id=attempt.id, parse_error=error)
        )

    page = await client.get(f"/campaigns/{campaign_id}/contacts/{contact_id}")

    assert f"</span> {shown}" in page.text.replace("&#39;", "'")


@pytest.mark.parametrize(
    ("lang", "redial_error", "dtmf_error"),
    [
        (
            "ru",
            "задержка — от 0 до 527040 минут, а не -1",
            "клавиша 2: для перевода нужен номер",
        ),
        (
            "en",
            "a delay is from 0 to 527040 minutes, got -1",
            "digit 2: transfer needs a number",
        ),
    ],
)
async def test_the_new_campaign_form_words_a_redial_delay_in_minutes_and_a_dtmf_error(
    app: FastAPI, client: httpx.AsyncClient, lang: str, redial_error: str, dtmf_error: str
) -> None:
    csrf = await _signed_in(app, client, lang)
    _, upload = await _uploaded(client, csrf)

    answer = await client.post(
        "/campaigns/new",
        data=form_body(
            csrf,
            upload,
            redial_busy="-1",
            dtmf_digit=["2", "", ""],
            dtmf_action=["transfer", "", ""],
        ),
    )

    assert answer.status_code == 422
    assert f'id="redial_busy-error" role="alert">{redial_error}<' in answer.text
    assert f'id="dtmf-error" role="alert">{dtmf_error}<' in answer.text
