"""The console's part 2 pages in a real headless Chromium against a real `dialer up` (API,
worker, Redis, simulator): the live campaign page played to its end, its charts read back
against the REST statistics, its files against the REST export, the do-not-call list obeyed
by the dialer, "new campaign from the unreached", and the admin pages closed to marketers.
Screenshots of every page, in Russian and English, go to $DIALER_SCREENSHOT_DIR."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from campaigns.copies import UNREACHED
from tests.e2e.console_support import chromium, open_page, shot, sign_in
from tests.e2e.deployment import Deployment, running_service

pytestmark = pytest.mark.slow

OUTCOME_OF_LAST_DIGIT = {
    "0": ("listened", 1),
    "1": ("listened", 1),
    "2": ("listened", 2),
    "3": ("listened", 1),
    "4": ("hung_up", None),
    "5": ("busy", None),
    "6": ("busy", None),
    "7": ("no_answer", None),
    "8": ("unavailable", None),
    "9": ("listened", 2),
}
RULES = {
    "last_digit": {
        digit: {"causes": [outcome], "dtmf": dtmf or "none"}
        for digit, (outcome, dtmf) in OUTCOME_OF_LAST_DIGIT.items()
    }
}
ALL_DAY = ["00:00", "24:00"]
DONE = ("completed", "cancelled")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running_service(tmp_path_factory.mktemp("console2"), RULES)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


@pytest.fixture
def rest(service: Deployment) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {service.api_key()}"}
    with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
        yield client


def _phones(prefix: str, count: int) -> list[str]:
    return [f"7910{prefix}{n:06d}" for n in range(count)]


def _create(rest: httpx.Client, name: str, phones: list[str], **fields: Any) -> int:
    body = {
        "name": name,
        "message": "Здравствуйте, {name}! Ваш заказ готов.",
        "a_number": "74950000000",
        "dtmf": [{"digit": 1, "action": "notify"}, {"digit": 2, "action": "notify"}],
        "schedule": {"workdays": ALL_DAY, "weekends": ALL_DAY, "holidays": False},
        "max_attempts": 1,
        "max_concurrent": 20,
        "contacts": [{"phone": phone, "vars": {"name": "Анна"}} for phone in phones],
    } | fields
    created = rest.post("/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    return campaign_id


def _finished(rest: httpx.Client, campaign_id: int, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: dict[str, Any] = rest.get(f"/v1/campaigns/{campaign_id}").json()
        if found["status"] in DONE:
            return found
        time.sleep(0.3)
    pytest.fail(f"campaign {campaign_id} did not finish in {timeout} s")


def _played(rest: httpx.Client, name: str, phones: list[str]) -> dict[str, Any]:
    campaign_id = _create(rest, name, phones)
    assert rest.post(f"/v1/campaigns/{campaign_id}/start").status_code == 200
    return _finished(rest, campaign_id)


def _contacts(rest: httpx.Client, campaign_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = rest.get(f"/v1/campaigns/{campaign_id}/contacts", params=params).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def _marks(page: Page, chart: str) -> dict[str, int]:
    marks = page.locator(f"#{chart} g.mark")
    return {
        str(marks.nth(i).get_attribute("data-label")): int(
            str(marks.nth(i).get_attribute("data-value"))
        )
        for i in range(marks.count())
    }


def _number(page: Page, testid: str) -> int:
    return int(page.inner_text(f"[data-testid={testid}]"))


def test_the_page_updates_live_to_the_end_with_charts_from_real_counts(
    service: Deployment, browser: Browser, rest: httpx.Client
) -> None:
    phones = _phones("1", 200)
    campaign_id = _create(rest, "Июльская рассылка", phones)
    page, dialogs = open_page(browser, "ru-RU")
    sign_in(page, service)
    page.goto(f"{service.url}/campaigns/{campaign_id}")
    assert "кампания ещё не запущена" in page.inner_text("[data-testid=why]")

    with page.expect_navigation():
        page.click("button[data-action=start]")
    page.evaluate("window.stillTheSamePage = true")
    seen: set[int] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        done = _number(page, "done")
        if 0 < done < len(phones) and not any(0 < d < len(phones) for d in seen):
            shot(page, "20-campaign-live-ru", full_page=False)
        seen.add(done)
        if page.get_attribute("#live", "data-status") == "completed" and done == len(phones):
            break
        page.wait_for_timeout(300)
    assert page.evaluate("window.stillTheSamePage") is True
    assert len(seen) >= 3, seen  # several counts shown, none by a reload
    assert page.inner_text("[data-testid=status]") == "Завершена"

    stats = rest.get(f"/v1/campaigns/{campaign_id}").json()["stats"]
    names = {"listened": "Прослушали", "hung_up": "Сбросили", "busy": "Занято"}
    names |= {"no_answer": "Не ответили", "unavailable": "Недоступен"}
    assert _marks(page, "chart-outcomes") == {
        names[outcome]: count for outcome, count in stats["by_outcome"].items()
    }
    assert _marks(page, "chart-dtmf") == stats["dtmf"]
    assert sum(_marks(page, "chart-listened").values()) == sum(
        stats["by_outcome"].get(o, 0) for o in ("listened", "hung_up")
    )
    calls = page.get_attribute("#chart-timeline polyline.series-1", "data-values")
    assert calls is not None
    assert sum(int(v) for v in calls.split(",")) == stats["attempts"]
    assert page.locator("#chart-outcomes svg title").count() >= 1
    shot(page, "21-campaign-completed-ru")
    page.click("button[lang=en]")
    page.wait_for_selector("text=Calls and answers over time")
    shot(page, "22-campaign-completed-en")
    assert dialogs.seen == []


def test_files_from_the_buttons_are_the_rest_exports(
    service: Deployment, browser: Browser, rest: httpx.Client, tmp_path: Path
) -> None:
    played = _played(rest, "Файлы", _phones("2", 30))
    page, _ = open_page(browser, "ru-RU")
    sign_in(page, service)
    page.goto(f"{service.url}/campaigns/{played['id']}")

    for level in ("contacts", "attempts"):
        for fmt in ("csv", "xlsx"):
            with page.expect_download() as started:
                page.click(f"[data-testid=download-{level}-{fmt}]")
            saved = tmp_path / f"{level}.{fmt}"
            started.value.save_as(saved)
            params = {"format": fmt, "level": level, "lang": "ru"}
            exported = rest.get(f"/v1/campaigns/{played['id']}/export", params=params)
            assert saved.read_bytes() == exported.content, (level, fmt)


def test_a_number_added_to_the_list_in_the_console_is_not_called(
    service: Deployment, browser: Browser, rest: httpx.Client
) -> None:
    listed, others = "79103000001", _phones("4", 3)
    campaign_id = _create(rest, "После списка", [listed, *others])  # listed after the import
    page, _ = open_page(browser, "ru-RU")
    sign_in(page, service)
    page.goto(f"{service.url}/dnc")
    page.fill("#dnc-phone", "8 (910) 300-00-01")
    page.fill("#dnc-reason", "просил не звонить")
    page.click("form[action='/dnc/add'] button[type=submit]")
    assert "Номер добавлен в список." in page.inner_text("[data-testid=done]")
    row = page.locator(f"tr[data-phone='{listed}']")
    assert row.locator("[data-source]").inner_text() == "вручную"
    shot(page, "30-dnc-ru")
    page.click("button[lang=en]")
    page.wait_for_selector("text=Do-not-call list")
    shot(page, "31-dnc-en")

    assert rest.post(f"/v1/campaigns/{campaign_id}/start").status_code == 200
    _finished(rest, campaign_id)

    by_phone = {c["phone"]: c for c in _contacts(rest, campaign_id)}
    assert by_phone[listed]["outcome"] == "dnc"
    assert by_phone[listed]["attempts"] == 0
    assert all(by_phone[p]["attempts"] == 1 for p in others)


def test_new_campaign_from_the_unreached_holds_exactly_them(
    service: Deployment, browser: Browser, rest: httpx.Client
) -> None:
    played = _played(rest, "Источник", _phones("5", 50))
    unreached = {
        c["phone"]
        for c in _contacts(rest, played["id"])
        if c["outcome"] in {outcome.value for outcome in UNREACHED}
    }
    assert unreached  # busy, no answer and unavailable numbers among them
    page, _ = open_page(browser, "ru-RU")
    sign_in(page, service)
    page.goto(f"{service.url}/campaigns/{played['id']}")

    page.click("[data-testid=copy-unreached]")
    page.wait_for_url(re.compile(r".*/campaigns/(\d+)$"))
    copy_id = int(page.url.rsplit("/", 1)[1])

    assert copy_id != played["id"]
    assert page.inner_text("[data-testid=status]") == "Черновик"
    assert {c["phone"] for c in _contacts(rest, copy_id)} == unreached
    page.goto(f"{service.url}/campaigns/{played['id']}/contacts")
    shot(page, "40-contacts-ru", full_page=False)
    page.click("table[data-testid=contacts] tbody tr:first-child a")
    page.wait_for_selector("table[data-testid=attempts]")
    shot(page, "41-contact-history-ru")
    page.click("button[lang=en]")
    page.wait_for_selector("text=Call attempts")
    shot(page, "42-contact-history-en")
    page.goto(f"{service.url}/campaigns/{played['id']}/contacts?outcome=busy")
    shot(page, "43-contacts-busy-en", full_page=False)


def test_a_marketer_cannot_open_the_admin_pages(service: Deployment, browser: Browser) -> None:
    admin, _ = open_page(browser, "ru-RU")
    sign_in(admin, service)
    admin.goto(f"{service.url}/users")
    admin.fill("#new-login", "masha")
    admin.fill("#new-password", "пароль маркетолога")
    admin.select_option("#new-role", "marketer")
    admin.click("form[action='/users/add'] button[type=submit]")
    assert "Пользователь добавлен." in admin.inner_text("[data-testid=done]")
    shot(admin, "50-users-ru")
    admin.click("button[lang=en]")
    admin.wait_for_selector("text=New user")
    shot(admin, "51-users-en")
    admin.goto(f"{service.url}/dashboard")
    shot(admin, "52-dashboard-en")

    marketer, _ = open_page(browser, "ru-RU")
    sign_in(marketer, service, "masha", "пароль маркетолога")
    marketer.goto(f"{service.url}/dashboard")
    shot(marketer, "53-dashboard-ru")
    assert marketer.locator("nav a[href='/dnc']").count() == 0
    for path in ("/dnc", "/users"):
        answer = marketer.goto(f"{service.url}{path}")
        assert answer is not None
        assert answer.status == 403
        assert "Недостаточно прав" in marketer.inner_text("main")
