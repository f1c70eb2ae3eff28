"""The console in a real headless Chromium (Debian's, driven by Playwright) against a real
`dialer up`: API, worker, Redis and simulator. The marketer's journey from a spreadsheet to a
running campaign, and user input that must stay text. Screenshots of every step go to
$DIALER_SCREENSHOT_DIR (default /tmp/console-shots), outside the repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.console_support import chromium
from tests.e2e.console_support import open_page as _page
from tests.e2e.console_support import shot as _shot
from tests.e2e.console_support import sign_in as _sign_in
from tests.e2e.deployment import Deployment, running_service

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TEST_PHONE = "+7 910 555-00-00"
RULES = {"last_digit": {digit: {"causes": ["listened"], "dtmf": 1} for digit in "0123456789"}}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running_service(tmp_path_factory.mktemp("console"), RULES)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


def _upload(page: Page, path: Path) -> None:
    page.goto(page.url.split("/campaigns")[0] + "/campaigns/new")
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#phone_column")


def test_from_a_spreadsheet_to_a_running_campaign(service: Deployment, browser: Browser) -> None:
    page, dialogs = _page(browser, "ru-RU")
    _sign_in(page, service)
    _shot(page, "01-campaigns-empty")

    _upload(page, ROOT / "examples" / "customers.csv")
    assert page.inner_text("[data-testid=encoding]") == "Windows-1251"
    assert "«;»" in page.inner_text("[data-testid=delimiter]")
    assert page.input_value("#phone_column") == "Телефон"
    _shot(page, "02-file-preview")

    page.fill("#name", "Заказы <b>готовы</b>")
    page.click("#message")
    page.keyboard.type("Здравствуйте, ")
    page.click("[data-insert='{name}']")
    page.keyboard.type("! Ваш заказ {order} готов.")
    page.wait_for_selector("ol.rendered li:has-text('Здравствуйте, Анна! Ваш заказ A-17 готов.')")
    _shot(page, "03-message-preview")

    digits, actions = (
        page.locator("select[name=dtmf_digit]"),
        page.locator("select[name=dtmf_action]"),
    )
    digits.nth(0).select_option("1")
    actions.nth(0).select_option("notify")
    digits.nth(1).select_option("9")
    actions.nth(1).select_option("opt_out")
    page.fill("#a_number", "74950000000")
    _shot(page, "04-dtmf")

    page.fill("#test_phone", TEST_PHONE)
    page.click("#test-call")
    page.wait_for_selector("[data-testid=test-outcome]", timeout=60_000)
    assert page.inner_text("[data-testid=test-outcome]") == "Прослушали"
    assert "Нажатая цифра 1" in page.inner_text("[data-testid=test-call]").replace("\n", " ")
    _shot(page, "05-test-call")

    page.click("form#campaign-form button[type=submit]")
    page.wait_for_url("**/report?**")
    assert page.inner_text("[data-testid=rejected-count]") == "3"
    lines = page.locator("table.rejected tbody tr td:first-child").all_inner_texts()
    assert lines == ["9", "15", "21"]
    _shot(page, "06-import-report")

    page.click("form[action$='/start'] button")
    page.wait_for_url("**/campaigns")
    row = page.locator("table.campaigns tbody tr", has_text="Заказы <b>готовы</b>")
    assert row.locator(".tag").inner_text() in ("Идёт", "Завершена")
    _shot(page, "07-campaign-running")
    assert dialogs.seen == []


def test_hostile_cells_and_names_stay_text(
    service: Deployment, browser: Browser, tmp_path: Path
) -> None:
    page, dialogs = _page(browser, "en-US")
    _sign_in(page, service)
    hostile = tmp_path / "hostile.csv"
    cells = ["<script>alert(1)</script>", '"<img src=x onerror=alert(2)>"']
    body = "".join(f"7910000000{n},{cell}\n" for n, cell in enumerate(cells, start=1))
    hostile.write_text("phone,name\n" + body, encoding="utf-8")

    _upload(page, hostile)
    page.fill("#name", "<img src=x onerror=alert(3)>")
    page.fill("#message", "Hi {name}")
    page.wait_for_selector("ol.rendered li")
    assert "<script>alert(1)</script>" in page.inner_text("table.preview")
    _shot(page, "08-hostile-preview-en")
    page.click("form#campaign-form button[type=submit]")
    page.wait_for_url("**/report?**")
    page.goto(f"{service.url}/campaigns")
    assert page.locator("td.name", has_text="<img src=x onerror=alert(3)>").count() == 1
    _shot(page, "09-campaigns-en")

    assert dialogs.seen == []
