"""What the console's browser tests share: a `dialer up` with simulator rules, Debian's
Chromium driven by Playwright, pages at 1280×800 that record any JavaScript dialog, sign-in
as the generated admin, and screenshots into $DIALER_SCREENSHOT_DIR (default
/tmp/console-shots), outside the repository."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from tests.e2e.deployment import Deployment

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("DIALER_SCREENSHOT_DIR", "/tmp/console-shots"))  # noqa: S108
VIEWPORT = {"width": 1280, "height": 800}


def chromium() -> Iterator[Browser]:
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


def open_page(browser: Browser, lang: str) -> tuple[Page, Dialogs]:
    context = browser.new_context(viewport=VIEWPORT, locale=lang, accept_downloads=True)  # type: ignore[arg-type]
    page = context.new_page()
    dialogs = Dialogs()
    page.on("dialog", dialogs)
    return page, dialogs


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=SHOTS / f"{name}.png", full_page=full_page)


def admin_password(service: Deployment) -> str:
    stored = json.loads((service.data_dir / "secrets.json").read_text(encoding="utf-8"))
    password: str = stored["admin_password"]
    return password


def sign_in(page: Page, service: Deployment, login: str = "admin", password: str = "") -> None:
    page.goto(f"{service.url}/")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password or admin_password(service))
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/campaigns")
