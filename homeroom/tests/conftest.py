"""The browser harness: Debian's Chromium driven by Playwright against pytest-django's live server, with mail
delivered over real SMTP to a local aiosmtpd server. One browser per session, a fresh context per test.

HOMEROOM_SCREENSHOTS=1 saves every visited page at 1280 and 375 px into screenshots/ (git-ignored)."""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Playwright's sync API keeps an event loop running in the main thread, where the tests also use the ORM.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from accounts.models import User

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
SCREENSHOT_DIR = Path(django_settings.BASE_DIR) / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"the browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(live_server: Any, transactional_db: None) -> str:
    """The live server's address; its thread sees the test's rows because each write is committed."""
    return str(live_server.url)


def _new_context(chromium: Browser, server: str, viewport: ViewportSize) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=server, viewport=viewport, locale="en-US")
    context.set_default_timeout(5_000)
    yield context
    context.close()


@pytest.fixture
def context(chromium: Browser, server: str) -> Iterator[BrowserContext]:
    yield from _new_context(chromium, server, DESKTOP)


@pytest.fixture
def phone_context(chromium: Browser, server: str) -> Iterator[BrowserContext]:
    yield from _new_context(chromium, server, PHONE)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def phone_page(phone_context: BrowserContext) -> Page:
    return phone_context.new_page()


@pytest.fixture
def sign_in_as(server: str) -> Callable[[Page, User], None]:
    """Sign a person in without the sign-in pages (they have tests of their own): the session cookie of a
    forced login, handed to the browser. Repeated code sign-ins would also run into allauth's rate limits."""

    def sign_in(page: Page, user: User) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": server}])

    return sign_in


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """screenshot(page, "class-page") saves the page at desktop and phone width when HOMEROOM_SCREENSHOTS=1,
    as screenshots/<test>--class-page--1280.png and ...--375.png."""
    enabled = os.environ.get("HOMEROOM_SCREENSHOTS") == "1"
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name.removeprefix("test_")).strip("-")

    def take(page: Page, label: str) -> None:
        if not enabled:
            return
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        original = page.viewport_size
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            page.screenshot(path=SCREENSHOT_DIR / f"{test_name}--{label}--{viewport['width']}.png", full_page=True)
        if original is not None:
            page.set_viewport_size(original)

    return take
