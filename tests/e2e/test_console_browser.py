"""The console in a real headless Chromium (Debian's, driven by Playwright) against a real
`dialer up`: API, worker, Redis and simulator. The marketer's journey from a spreadsheet to a
running campaign, and user input that must stay text. Screenshots of every step go to
$DIALER_SCREENSHOT_DIR (default /tmp/console-shots), outside the repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from tests.e2e.deployment import Deployment

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("DIALER_SCREENSHOT_DIR", "/tmp/console-shots"))  # noqa: S108
VIEWPORT = {"width": 1280, "height": 800}
TEST_PHONE = "+7 910 555-00-00"
RULES = {"last_digit": {digit: {"causes": ["listened"], "dtmf": 1} for digit in "0123456789"}}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("console")
    rules = workdir / "rules.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    deployment = Deployment(workdir, rules)
    deployment.start()
    try:
        yield deployment
    finally:
        if deployment.process is not None and deployment.process.poll() is None:
            deployment.interrupt()
        deployment.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


class Dialogs:
    """Every JavaScript dialog the page opens (there must be none)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, dialog: Dialog) -> None:
        self.seen.append(dialog.message)
        dialog.dismiss()


def _page(browser: Browser, lang: str) -> tuple[Page, Dialogs]:
    context = browser.new_context(viewport=VIEWPORT, locale=lang)  # type: ignore[arg-type]
    page = context.new_page()
    dialogs = Dialogs()
    page.on("dialog", dialogs)
    return page, dialogs


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def _sign_in(page: Page, service: Deployment) -> None:
    stored = json.loads((service.data_dir / "secrets.json").read_text(encoding="utf-8"))
    page.goto(f"{service.url}/")
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", stored["admin_password"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/campaigns")


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
