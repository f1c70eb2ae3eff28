"""Console pages over the real app: the list and its actions, the new-campaign previews, create
and the import report. Escaping of user input is asserted on the HTML the browser gets."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.resources import app_resources
from campaigns import importer, launch
from campaigns.spec import CampaignSpec
from tests.api.console.support import UPLOAD, add_user, form_body, signed_in, upload_file
from tests.api.support import contact
from tests.campaigns.files import csv_bytes, rows
from tests.factories import T0, campaign_body

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _sessions(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    return app_resources(app).sessions


async def _create(app: FastAPI, **fields: object) -> int:
    """A draft made by the domain functions the REST API's create runs."""
    spec = CampaignSpec.model_validate(campaign_body(**fields))
    sessions = _sessions(app)

    async def fill(campaign_id: int) -> importer.ImportReport:
        return await importer.import_contacts(sessions, campaign_id, spec.contact_rows())

    made, _ = await launch.create_filled(
        sessions,
        spec,
        fill if spec.contacts else None,
        now=T0,
        default_a_number=None,
        allow_private_callbacks=False,
    )
    return made


async def test_the_list_shows_status_progress_and_escapes_the_name(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    await signed_in(client)
    await _create(app, name="<script>alert(1)</script>", contacts=[contact(n) for n in range(3)])

    page = await client.get("/campaigns")

    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Черновик" in page.text
    assert "0 из 3" in page.text
    assert 'action="/campaigns/1/start"' in page.text


async def test_actions_go_through_the_lifecycle_and_filter_by_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)
    first = await _create(app, name="First", contacts=[contact(1)])
    await _create(app, name="Second", contacts=[contact(2)])

    started = await client.post(f"/campaigns/{first}/start", data={"csrf_token": csrf})
    paused = await client.post(f"/campaigns/{first}/pause", data={"csrf_token": csrf})
    again = await client.post(f"/campaigns/{first}/resume", data={"csrf_token": csrf})

    assert [a.status_code for a in (started, paused, again)] == [303, 303, 303]
    running = await client.get("/campaigns", params={"status": "running"})
    assert "First" in running.text
    assert "Second" not in running.text
    confirm = await client.get(f"/campaigns/{first}/cancel")
    assert "навсегда" in confirm.text
    await client.post(f"/campaigns/{first}/cancel", data={"csrf_token": csrf})
    assert "Отменена" in (await client.get("/campaigns", params={"status": "cancelled"})).text


async def test_an_illegal_action_is_explained_not_a_500(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)
    empty = await _create(app, name="Empty")

    answer = await client.post(f"/campaigns/{empty}/start", data={"csrf_token": csrf})

    assert answer.status_code == 303
    shown = await client.get(answer.headers["location"])
    assert "нет контактов: добавьте их перед запуском" in shown.text
    assert "Действие не выполнено" in shown.text


async def test_file_preview_names_encoding_delimiter_phone_and_escapes_cells(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)

    example = await upload_file(
        client, csrf, "customers.csv", (EXAMPLES / "customers.csv").read_bytes()
    )
    hostile = csv_bytes([["+7 910 000-00-01", "<script>alert(1)</script>", "A-1"]])
    escaped = await upload_file(client, csrf, "x.csv", hostile)

    assert "Windows-1251" in example.text
    assert "точка с запятой «;»" in example.text
    assert '<option value="Телефон" selected>' in example.text
    assert "{name}" in example.text
    assert "<script>alert(1)</script>" not in escaped.text
    assert "&lt;script&gt;" in escaped.text


async def test_message_preview_renders_first_rows_and_flags_unknown_placeholders(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)
    upload = UPLOAD.search(
        (await upload_file(client, csrf, "c.csv", (EXAMPLES / "customers.csv").read_bytes())).text
    )
    assert upload is not None

    good = await client.post(
        "/campaigns/new/message",
        data={"csrf_token": csrf, "upload": upload.group(1), "message": "Привет, {name}!"},
    )
    bad = await client.post(
        "/campaigns/new/message",
        data={"csrf_token": csrf, "upload": upload.group(1), "message": "Привет, {имя}!"},
    )

    assert "Привет, Анна!" in good.text
    assert "Привет, Борис!" in good.text
    assert "Нет столбцов для: имя" in bad.text


async def test_create_shows_the_report_with_rejected_lines_and_their_csv(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)
    preview = await upload_file(client, csrf, "c.csv", (EXAMPLES / "customers.csv").read_bytes())
    upload = UPLOAD.search(preview.text)
    assert upload is not None

    created = await client.post("/campaigns/new", data=form_body(csrf, upload.group(1)))

    assert created.status_code == 303, created.text
    report = await client.get(created.headers["location"])
    assert re.search(r'data-testid="rejected-count">3<', report.text)
    for line in ("<td>9</td>", "<td>15</td>", "<td>21</td>"):
        assert line in report.text
    rejected = await client.get(re.sub(r"/report\?", "/rejected.csv?", created.headers["location"]))
    assert rejected.text.splitlines()[0] == "\ufeffline;column;value;reason"
    assert len(rejected.text.splitlines()) == 4


async def test_bad_fields_are_shown_beside_the_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)
    upload = UPLOAD.search((await upload_file(client, csrf, "c.csv", csv_bytes(rows(2)))).text)
    assert upload is not None

    answer = await client.post(
        "/campaigns/new",
        data=form_body(
            csrf,
            upload.group(1),
            name="",
            redial_busy="soon",
            dtmf_digit=["1", "1", ""],
            dtmf_action=["notify", "opt_out", ""],
        ),
    )

    assert answer.status_code == 422
    assert 'id="name-error"' in answer.text
    assert 'id="redial_busy-error"' in answer.text
    assert 'id="dtmf-error"' in answer.text
    assert "Traceback" not in answer.text


async def test_an_unreadable_file_is_refused_in_words(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)

    answer = await upload_file(client, csrf, "old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100)

    assert answer.status_code == 200
    assert "Файл не принят" in answer.text
    assert "старые файлы .xls не читаются" in answer.text


async def test_the_rejected_rows_stay_on_the_campaign_page_after_the_upload_is_gone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)
    preview = await upload_file(client, csrf, "c.csv", (EXAMPLES / "customers.csv").read_bytes())
    upload = UPLOAD.search(preview.text)
    assert upload is not None
    created = await client.post("/campaigns/new", data=form_body(csrf, upload.group(1)))
    kept = await client.get(re.sub(r"/report\?", "/rejected.csv?", created.headers["location"]))
    campaign_id = int(created.headers["location"].split("/")[2])
    shutil.rmtree(app_resources(app).settings.data_dir / "console-uploads")

    page = await client.get(f"/campaigns/{campaign_id}")
    rows = await client.get(f"/campaigns/{campaign_id}/rejected-rows.csv")

    assert "Отклонённые строки импорта: 3" in page.text
    assert rows.status_code == 200
    assert rows.content == kept.content
    assert (await client.get("/campaigns/999/rejected-rows.csv")).status_code == 404
