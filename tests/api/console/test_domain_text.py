"""The domain's English reasons worded for the page: every reason the domain produces today is
recognised (its Russian has no English word but the allowed names and the user's own value),
and the English page shows the domain's text unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import FormData

from api.console.campaign_form import defaults, read_form
from api.console.domain_text import RULES, explain
from api.console.i18n import Translator
from campaigns import contacts, launch, store, users
from campaigns.db import write_transaction
from campaigns.errors import CampaignError
from campaigns.filereader import PHONE_NAMES, SAMPLE_BYTES, read_file, read_head
from campaigns.idle import ACCOUNT_REFUSED_PREFIX
from campaigns.importer import ImportReport
from campaigns.importlimits import REFUSALS, ImportRefused, Limits
from campaigns.matching import match_event
from campaigns.purposes import Purpose
from campaigns.rowchecks import check_rows
from campaigns.spec import CampaignPatch, CampaignSettings
from campaigns.spikes import Spike, summary_of
from campaigns.templates import TemplateError, check, render
from dialer.telecom import numbers
from dialer.telecom.dtmf import DtmfActionType
from dialer.telecom.event_texts import JSON_TYPES, PARSE_ERRORS
from dialer.telecom.events import EventParseError, MttEvent, parse_body
from dialer.telecom.number_columns import normalize_series
from dialer.telecom.numbers import InvalidNumber, normalize
from dialer.telecom.voice import Emotion, Lang, VoiceName
from tests.api.console.support import add_user
from tests.campaigns.files import xlsx_bytes
from tests.db_fixtures import insert_campaign
from tests.dialer.telecom.test_numbers import REJECTED
from tests.factories import T0, campaign_body

RU, EN = Translator("ru"), Translator("en")
LOCALES = Path(__file__).resolve().parents[3] / "api" / "console" / "locales"
ALLOWED = {"sb-api", "MTT", "IANA", "CSV", "XLSX", "UTF-8", "JSON", "DTMF", "ISO", "http"}
ALLOWED |= {"https", "Europe", "Moscow", "CRM", "xls"}
CODES = [*Lang, *VoiceName, *Emotion, *DtmfActionType, *PHONE_NAMES, *Purpose]
"""Values the user types as they are: the page names them verbatim."""
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_TEXT = pd.StringDtype("pyarrow")
_JSON = "application/json"


def latin_words(text: str, *quoted: str) -> set[str]:
    """English words in `text` once the user's own values and the typed codes are cut out."""
    cut = {*quoted, *(repr(q) for q in quoted), *CODES} - {""}
    for value in sorted(cut, key=len, reverse=True):
        text = text.replace(value, " ")
    return set(_WORD.findall(text)) - ALLOWED


MESSY: list[object] = [raw for raw, _ in REJECTED]
"""The number tests' table of every way a number is refused."""


def test_every_number_reason_reads_in_russian_and_stays_english_in_english() -> None:
    _, reasons = normalize_series(pd.Series(MESSY, dtype=object))

    for value, reason in zip(MESSY, reasons, strict=True):
        assert isinstance(reason, str), value
        assert explain(reason, EN) == reason
        worded = explain(reason, RU)
        assert worded != reason, reason
        assert not latin_words(worded, str(value)), (reason, worded)


@pytest.mark.parametrize(
    ("value", "russian"),
    [
        ("123456", "слишком короткий: 6 цифр (нужно 11)"),
        ("1234", "слишком короткий: 4 цифры (нужно 11)"),
        ("+7 916 123 45 67 1", "слишком длинный: 12 цифр (нужно 11)"),
        ("abc", "не номер телефона"),
        ("79!61234567", "лишний символ '!'"),
    ],
)
def test_a_number_reason_keeps_its_figures(value: str, russian: str) -> None:
    with pytest.raises(InvalidNumber) as refused:
        normalize(value)

    assert explain(refused.value.reason, RU) == russian


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (1, "1 цифра"),
        (2, "2 цифры"),
        (5, "5 цифр"),
        (11, "11 цифр"),
        (12, "12 цифр"),
        (21, "21 цифра"),
        (22, "22 цифры"),
        (111, "111 цифр"),
    ],
)
def test_a_count_takes_its_russian_plural(count: int, words: str) -> None:
    reason = numbers.REASONS["too_long"].format(digits=count)

    assert explain(reason, RU) == f"слишком длинный: {words} (нужно 11)"


def _frame(**columns: list[str]) -> pd.DataFrame:
    size = len(next(iter(columns.values())))
    return pd.DataFrame(columns, dtype=_TEXT, index=range(2, 2 + size))


def _row_cases() -> Iterator[tuple[pd.DataFrame, str]]:
    good = "79161234567"
    yield _frame(phone=[good, "12"], timezone=["Europe/Nowhere", "Asia/Omsk"]), "Привет"
    for column, value in (("voice_name", "robot"), ("emotion", "angry"), ("speed_speech", "9")):
        yield _frame(phone=[good], **{column: [value]}), "Привет"
    yield _frame(phone=[good], имя=["Анна"], text=["Привет {фамилия}"]), "Привет"
    yield _frame(phone=[good], имя=["Анна"], text=["Привет {"]), "Привет"
    yield _frame(phone=[good], имя=[""]), "{имя}"
    yield _frame(phone=[good], text=[""]), ""


@pytest.mark.parametrize(("frame", "message"), list(_row_cases()))
def test_every_row_reason_reads_in_russian(frame: pd.DataFrame, message: str) -> None:
    checked = check_rows(frame, message=message, default_timezone="Europe/Moscow")

    assert checked.rejected
    for rejection in checked.rejected:
        assert explain(rejection.reason, EN) == rejection.reason
        worded = explain(rejection.reason, RU)
        assert worded != rejection.reason
        assert not latin_words(worded, rejection.value), (rejection.reason, worded)


@pytest.mark.parametrize(
    ("frame", "message", "phone_column"),
    [
        (_frame(phone=["79161234567"]), "Привет, {имя}!", None),
        (_frame(phone=["79161234567"]), "Привет {", None),
        (_frame(tel=["79161234567"]), "Привет", None),
        (_frame(tel=["79161234567"]), "Привет", "телефон2"),
    ],
)
def test_a_refused_import_reads_in_russian(
    frame: pd.DataFrame, message: str, phone_column: str | None
) -> None:
    with pytest.raises(ImportRefused) as refused:
        check_rows(
            frame, message=message, default_timezone="Europe/Moscow", phone_column=phone_column
        )

    worded = explain(refused.value.message, RU)
    assert worded != refused.value.message
    assert not latin_words(worded, "tel", "phone", "телефон2", "имя"), worded


BAD_FILES: list[tuple[bytes, dict[str, Any]]] = [
    (b"", {}),
    (b"\xef\xbb\xbf", {}),
    (b"\xd0\xcf\x11\xe0" + b"\0" * 100, {}),
    (b"phone;name\n79161234567;a\n", {"limits": Limits(max_bytes=10)}),
    (b"a;b;c;d;e\n1;2;3;4;5\n", {"limits": Limits(max_columns=3)}),
    (b"a;" * 3000 + b"z\n1\n" + b"x" * SAMPLE_BYTES, {"limits": Limits(max_columns=3)}),
    (b"x" * (SAMPLE_BYTES + 10) + b"\n1\n", {}),
    (b"phone;name\n1;a\n2;b\n3;c\n", {"limits": Limits(max_rows=1)}),
    (b"phone;Phone\n1;2\n", {}),
    (b"phone;name\n1;2\n", {"delimiter": "ab"}),
    (b"phone;name\n1;2\n", {"encoding": "nope"}),
    (b"phone;name\n1;2\n", {"encoding": "base64"}),
    (xlsx_bytes([["1", "2"]], header=("", "")), {}),
    (b'phone;name\n"1;2\n3', {}),
    (b"PK\x03\x04 not a zip", {}),
    (xlsx_bytes([["1", "2", "3"]], header=("a", "b", "c")), {"limits": Limits(max_columns=2)}),
    (xlsx_bytes([["1"]], header=("a",)), {"limits": Limits(max_unzipped_bytes=10)}),
]


@pytest.mark.parametrize(("data", "options"), BAD_FILES)
def test_every_refused_file_reads_in_russian(data: bytes, options: dict[str, Any]) -> None:
    with pytest.raises(ImportRefused) as refused:
        read_file(data, **options)
    message = refused.value.message

    assert explain(message, EN) == message
    worded = explain(message, RU)
    assert worded != message
    _, _, parser_words = message.partition("CSV: " if "CSV: " in message else "XLSX: ")
    # pandas' and zipfile's own words, quoted like MTT's
    assert not latin_words(worded, "Phone", "ab", "nope", "base64", "A1:C2", parser_words), worded


@pytest.mark.parametrize("template", ["Привет {", "Привет }", "Привет { }", "{a}{b}"])
def test_every_template_error_reads_in_russian(template: str) -> None:
    with pytest.raises(TemplateError) as refused:
        check(template, [])
    error = str(refused.value)

    assert explain(error, EN) == error
    assert not latin_words(explain(error, RU), "a", "b"), explain(error, RU)


def test_a_missing_value_reads_in_russian() -> None:
    with pytest.raises(TemplateError) as refused:
        render("{имя}", {})

    assert explain(str(refused.value), RU) == "нет значения для {имя}"


BAD_BODIES: list[dict[str, Any]] = [
    {"name": ""},
    {"max_attempts": True},
    {"name": "x" * 201},
    {"message": "  "},
    {"message": "Привет {"},
    {"a_number": "123"},
    {"voice": {"lang": "xx"}},
    {"voice": {"voice_name": "robot"}},
    {"voice": {"emotion": "angry"}},
    {"voice": {"speed": "9"}},
    {"voice": {"lang": "tr-TR"}, "dtmf": []},
    {"dtmf": [{"digit": 0, "action": "notify"}]},
    {"dtmf": [{"digit": 1, "action": "call"}]},
    {"dtmf": [{"digit": 1, "action": "transfer", "number": "12"}]},
    {"dtmf": [{"digit": 1, "action": "transfer"}]},
    {"dtmf": [{"digit": 1, "action": "notify", "number": "74997090111"}]},
    {"dtmf": [{"digit": 1, "action": "notify"}, {"digit": 1, "action": "opt_out"}]},
    {"dtmf": [{"digit": d, "action": "notify"} for d in range(1, 10)] * 2},
    {"schedule": {"timezone": "Mars/Base"}},
    {"schedule": {"workdays": ["8", "22:00"]}},
    {"schedule": {"workdays": ["08:00", "25:00"]}},
    {"schedule": {"workdays": ["22:00", "08:00"]}},
    {"schedule": {"weekends": "09:00"}},
    {"schedule": {"start_at": "2026-12-07T10:00+03:00", "end_at": "2026-12-07T09:00+03:00"}},
    {"schedule": {"start_at": 1765000000}},
    {"max_attempts": 0},
    {"max_attempts": 21},
    {"max_attempts": "три"},
    {"redial": {"busy": [-60]}},
    {"crm_callback_url": "ftp://x"},
    {"purpose": "debt_collection", "schedule": {"workdays": ["07:00", "22:00"]}},
    {"purpose": "debt_collection", "schedule": {"weekends": ["09:00", "21:00"]}},
    {"purpose": "debt_collection", "schedule": {"holidays": False}},
    {"purpose": "debt_collection", "caps": {"conversations": {"day": 2}}},
    {"purpose": "debt_collection", "caps": {"voice_messages": {"month": 17}}},
    {"purpose": "informing", "caps": {}},
]


@pytest.mark.parametrize("fields", BAD_BODIES)
def test_every_settings_error_reads_in_russian(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        CampaignSettings.model_validate(campaign_body(**fields))

    for problem in refused.value.errors():
        english = problem["msg"].removeprefix("Value error, ")
        assert explain(problem, EN) == english
        worded = explain(problem, RU)
        assert worded != english, english
        assert not latin_words(worded, json.dumps(fields), str(problem["input"])), worded


def _form(**fields: str) -> FormData:
    values = {k: v for k, v in defaults().values.items() if isinstance(v, str)}
    return FormData([*(values | {"name": "Заказы", "message": "Привет"} | fields).items()])


@pytest.mark.parametrize(
    ("fields", "field", "russian"),
    [
        ({"start_at": "вчера"}, "start_at", "'вчера' — не дата и время"),
        ({"redial_busy": "скоро"}, "redial_busy", "минуты через запятую"),
        ({"name": ""}, "name", "заполните поле"),
        ({"max_attempts": "0"}, "max_attempts", "не меньше 1"),
        ({"redial_busy": "-1"}, "redial_busy", "задержка — от 0 до 527040 минут, а не -1"),
        ({"redial_busy": "60, -0.5"}, "redial_busy", "задержка — от 0 до 527040 минут, а не -0.5"),
        ({"redial_busy": "inf"}, "redial_busy", "задержка — от 0 до 527040 минут, а не inf"),
        ({"redial_busy": "527041"}, "redial_busy", "задержка — от 0 до 527040 минут, а не 527041"),
        (
            {"workdays_from": "25:00"},
            "workdays_from",
            "'25:00' — не время суток (от 00:00 до 24:00)",
        ),
    ],
)
def test_the_forms_own_errors_read_in_russian(
    fields: dict[str, str], field: str, russian: str
) -> None:
    shown, _ = read_form(_form(**fields))

    assert explain(shown.errors[field], RU) == russian


def test_service_reasons_keep_mtts_words_quoted() -> None:
    refused = f"{ACCOUNT_REFUSED_PREFIX}: 403 Forbidden: balance"

    assert (
        explain(refused, RU) == "МТТ (sb-api) отказал в доступе к аккаунту: 403 Forbidden: balance"
    )
    assert explain(refused, EN) == refused


def test_a_network_spike_pause_reads_in_russian() -> None:
    reason = Spike(network=14, calls=20, causes=((38, 9), (41, 5))).reason

    assert explain(reason, RU, "status.") == (
        "сбои в сети: 14 из последних 20 звонков (причины Q.850: 38 ×9, 41 ×5); "
        "проверьте маршрут МТТ, затем продолжите кампанию"
    )
    assert explain(reason, EN, "status.") == reason
    summary = summary_of(reason)
    assert explain(summary, RU, "status.") == "14 из 20 звонков, причины Q.850: 38 ×9, 41 ×5"
    assert explain(summary, EN, "status.") == "14 of 20 calls, causes 38 ×9, 41 ×5"


def _event(number: str, call_id: str) -> MttEvent:
    record = {"date_time": "2026-11-25-12-01-00", "id": "7", "event": f"o_{number}"}
    (parsed,) = parse_body(json.dumps(record | {"CallID": call_id}).encode(), _JSON, {}).events
    return parsed


@pytest.mark.parametrize(
    ("event", "russian"),
    [
        (_event("79161234567", "b2"), "идентификатор звонка b2 не совпадает с a1"),
        (_event("79169999999", "a1"), "номер 79169999999 не совпадает с набранным 79161234567"),
    ],
)
def test_a_webhook_conflict_reads_in_russian(event: MttEvent, russian: str) -> None:
    verdict = match_event(event, call_id="a1", number="79161234567")

    assert verdict.reason is not None
    assert explain(verdict.reason, RU) == russian
    assert explain(verdict.reason, EN) == verdict.reason


@pytest.mark.parametrize("text", ["something new from sb-api", "", "x: y"])
def test_an_unknown_text_is_shown_as_the_domain_wrote_it(text: str) -> None:
    assert explain(text, RU) == text
    assert explain(None, RU) == ""


def test_a_prefixed_reason_keeps_its_prefix() -> None:
    phone = "+7 916"
    with pytest.raises(InvalidNumber) as refused:
        normalize(phone)

    assert explain(f"{phone}: phone: {refused.value.reason}", RU) == (
        "+7 916: номер: слишком короткий: 4 цифры (нужно 11)"
    )


def test_the_english_catalogue_words_each_template_as_the_domain_does() -> None:
    en = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))

    for name, template in RULES:
        assert en[f"domain.{name}"] == template, name


def _json(record: object) -> bytes:
    return json.dumps(record).encode()


_O = "o_79161234567"
BAD_WEBHOOKS: list[tuple[bytes, str]] = [
    (_json([{"event": _O, "id": "1"}, {"id": "2"}]), ""),
    (b"[" * 100_000 + b"]" * 100_000, ""),
    (b"event=o_\xff", "invalid start byte"),
    (b"", ""),
    (b"{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b"[]", ""),
    (b'["x"]', ""),
    (_json({"data": {"data": {"data": {"data": {"event": _O}}}}}), ""),
    (_json({"data": 5}), ""),
    (b"event", ""),
    (b"event=%ff", ""),
    (b"event=o_1&event=o_2", ""),
    (b"&&", ""),
    (_json({"event": _O + "\0", "id": "1"}), ""),
    (_json({"event": _O, "Event": "o_2", "id": "1"}), ""),
    (_json({"id": "1"}), ""),
    (_json({"event": _O}), ""),
    (_json({"event": "n_79161234567", "id": "1", "type": "transfer"}), ""),
    (_json({"event": "x_79161234567", "id": "1"}), ""),
    (_json({"event": "o_79a", "id": "1"}), ""),
    (_json({"event": "h_79161234567_x_3", "id": "1"}), ""),
    (_json({"event": "h_79161234567_200_3", "id": "1"}), ""),
    (_json({"event": "o79161234567", "id": "1"}), ""),
    (_json({"event": "o_79161234567_1", "id": "1"}), ""),
    (_json({"event": _O, "id": "1", "dtmf": "0"}), ""),
    (_json({"event": _O, "id": "1", "date_time": "yesterday"}), ""),
    (
        _json({"event": _O, "id": "1", "date_time": "2026-02-30-10-00-00"}),
        "day is out of range for month",
    ),
    (_json({"event": _O, "id": "a b"}), ""),
]
"""A body for every way events.parse_body refuses one; the second item is Python's own words
in the error (kept as they are, like MTT's)."""
PROTOCOL = {"event", "data", "dtmf", "date_time", "id", "CallID", "type", "transfer", "null"}
PROTOCOL |= {"k", "v", "NUL", "ASCII", "o", "h", "n", "o_", "h_", "n_", "json_list"}
"""MTT's field names and values, and the body's format, that the Russian quotes as they are."""


@pytest.mark.parametrize(("body", "python_words"), BAD_WEBHOOKS)
def test_every_webhook_parse_error_reads_in_russian(body: bytes, python_words: str) -> None:
    with pytest.raises(EventParseError) as refused:
        parse_body(body, _JSON, {})
    error = str(refused.value)

    assert explain(error, EN, "event.") == error
    worded = explain(error, RU, "event.")
    assert worded != error
    sent = f"{body.decode(errors='replace')} {python_words}"
    users = {*_WORD.findall(sent), *re.findall("[A-Za-z]+", sent)}
    assert not latin_words(worded) - PROTOCOL - users, worded


@pytest.mark.parametrize("kind", ["object", "list", "string", "boolean", "null", "number"])
def test_a_json_body_of_the_wrong_type_reads_in_russian(kind: str) -> None:
    error = PARSE_ERRORS["json_body"].format(json_type=JSON_TYPES[kind])

    worded = explain(error, RU, "event.")

    assert worded.startswith("тело JSON — ")
    assert not latin_words(worded) - PROTOCOL, worded


Sessions = async_sessionmaker[AsyncSession]


async def _edit(sessions: Sessions, campaign_id: int) -> None:
    async with write_transaction(sessions) as session:
        await store.patch(session, campaign_id, CampaignPatch.model_validate({}), now=T0)


async def _fill(sessions: Sessions, campaign_id: int) -> None:
    async def no_fill(campaign_id: int) -> ImportReport:
        raise AssertionError(f"campaign {campaign_id} was filled")

    await launch.add_contacts(sessions, campaign_id, no_fill)


async def _start(sessions: Sessions, campaign_id: int) -> None:
    async with write_transaction(sessions) as session:
        await store.start(session, campaign_id, now=T0)


async def _launch(sessions: Sessions, campaign_id: int) -> None:
    async with write_transaction(sessions) as session:
        await launch.start(session, campaign_id, now=T0, default_a_number=None)


async def _open(sessions: Sessions, campaign_id: int) -> None:
    async with sessions() as session:
        await launch.get_campaign(session, campaign_id)


async def _open_the_next(sessions: Sessions, campaign_id: int) -> None:
    await _open(sessions, campaign_id + 1)


async def _open_a_contact(sessions: Sessions, campaign_id: int) -> None:
    async with sessions() as session:
        await contacts.get_contact(session, campaign_id)


@pytest.mark.any_db
@pytest.mark.parametrize(
    ("campaign", "action", "russian"),
    [
        (
            {"status": "running"},
            _edit,
            "кампания {id} в статусе «Идёт»: чтобы изменить, поставьте её на паузу",
        ),
        (
            {"status": "completed"},
            _fill,
            "кампания {id} в статусе «Завершена»: контакты в неё больше не добавить",
        ),
        (
            {"status": "draft", "end_at": T0 - timedelta(hours=1)},
            _start,
            "кампания {id} закончилась 2026-11-25T08:00:00+00:00: "
            "чтобы запустить, перенесите дату окончания",
        ),
        ({"status": "draft"}, _launch, "в кампании {id} нет контактов: добавьте их перед запуском"),
        ({"kind": "call"}, _open, "кампании {id} нет: это тестовый звонок"),
        ({}, _open_the_next, "кампании {next} нет"),
        ({}, _open_a_contact, "контакта {id} нет"),
    ],
)
async def test_a_rarely_seen_campaign_refusal_reads_in_russian(
    sessions: Sessions,
    campaign: dict[str, Any],
    action: Callable[[Sessions, int], Awaitable[None]],
    russian: str,
) -> None:
    campaign_id = await insert_campaign(sessions, **campaign)

    with pytest.raises(CampaignError) as refused:
        await action(sessions, campaign_id)
    refusal = refused.value.message

    assert explain(refusal, RU) == russian.format(id=campaign_id, next=campaign_id + 1)
    assert explain(refusal, EN) == refusal


def test_a_sheet_without_a_header_read_in_part_reads_in_russian(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(xlsx_bytes([], header=()))
    with pytest.raises(ImportRefused) as refused:
        read_head(path)

    assert explain(refused.value.message, RU) == "на первом листе нет строки заголовков"


def test_a_row_wider_than_its_sheet_says_reads_in_russian() -> None:
    refusal = REFUSALS["wide_row"].format(row=7, column=300, limit=256)

    assert explain(refusal, RU) == (
        "в строке 7 есть ячейка в столбце 300, а столбцов можно не больше 256"
    )


async def _add_anna_twice(sessions: Sessions) -> None:
    await add_user(sessions)
    await add_user(sessions)


async def _find_boris(sessions: Sessions) -> None:
    async with sessions() as session:
        await users.get(session, "boris")


async def _add_a_bad_login(sessions: Sessions) -> None:
    await add_user(sessions, login="-anna")


@pytest.mark.any_db
@pytest.mark.parametrize(
    ("action", "russian"),
    [
        (_add_anna_twice, "пользователь 'anna' уже есть"),
        (_find_boris, "пользователя 'boris' нет"),
        (
            _add_a_bad_login,
            "логин: от 1 до 64 символов — латинские буквы, цифры и . _ @ -, "
            "в начале буква или цифра",
        ),
    ],
)
async def test_a_refused_user_reads_in_russian(
    sessions: Sessions, action: Callable[[Sessions], Awaitable[None]], russian: str
) -> None:
    with pytest.raises(CampaignError) as refused:
        await action(sessions)

    assert explain(refused.value.message, RU) == russian
    assert explain(refused.value.message, EN) == refused.value.message
