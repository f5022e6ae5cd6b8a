"""The browser harness: Debian's Chromium driven by Playwright against pytest-django's live server, with mail
delivered over real SMTP to a local aiosmtpd server. One browser per session, a fresh context per test.

HOMEROOM_SCREENSHOTS=1 saves every visited page at 1280 and 375 px into screenshots/ (git-ignored)."""

import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

# Playwright's sync API keeps an event loop running in the main thread, where the tests also use the ORM.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core.cache import cache
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

# allauth's codes are letters and digits, dashed in two halves ("ABCD-EF12"); the mail has the code on its own line.
LOGIN_CODE = re.compile(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]{3,})+)\s*$", re.MULTILINE)


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


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # allauth's rate limits and login codes live in the in-process cache, which outlives a test.
    cache.clear()


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


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        # With policy.default the parser builds an EmailMessage, whose get_body() finds the text part.
        self.messages.append(cast(EmailMessage, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"

    def wait_for_message_to(self, address: str, *, timeout: float = 5.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if address in {recipient.addr_spec for recipient in message["To"].addresses}:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"No mail to {address} within {timeout} s; received: {[m['To'] for m in self.messages]}")

    def login_code_for(self, address: str) -> str:
        body = self.wait_for_message_to(address).get_body(preferencelist=("plain",))
        assert body is not None, "the sign-in mail has no text part"
        text = body.get_content()
        match = LOGIN_CODE.search(text)
        assert match, f"No sign-in code in the mail to {address}:\n{text}"
        return match.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Controller, Mailbox], settings: Any) -> Mailbox:
    """Mail the live server sends goes over SMTP to the local server; returns what it received in this test."""
    controller, mailbox = smtp_server
    mailbox.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    return mailbox
