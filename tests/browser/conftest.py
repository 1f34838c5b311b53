"""Real Chromium through Playwright against the local stack (moto + Chalice on loopback).

One stack and one browser serve the whole session; every test gets a fresh browser context and
files its own requests (distinct, random e-mail addresses), so tests never depend on each other.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from local_stack.runner import LocalStack, start_stack
from tests.conftest import PROJECT_ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
WIDTHS = (360, 1280)
OFFICERS = ("securite.demo@mcn.gouv.qc.ca", "rssi.demo@mcn.gouv.qc.ca")
DEADLINE_SECONDS = 10.0
POLL_SECONDS = 0.05
# Playwright's default expect timeout is 5 s; a loaded 2-core machine deserves a little more.
EXPECT_TIMEOUT_MS = 10_000

T = TypeVar("T")


# --------------------------------------------------------------------------- the stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Start the local stack on free loopback ports for the session; stop it at the end.

    `start_stack` sets os.environ in this process (endpoint, public base URL...): the
    environment is put back as it was once the stack stops.
    """
    saved = dict(os.environ)
    # The scheduled jobs stay idle here: a test moves the services' clock a month ahead to
    # show an expired link, and a job running meanwhile would expire every waiting request of
    # the session. The jobs are tested on a frozen clock (tests/integration/test_lifecycle.py).
    running = start_stack(
        tmp_path_factory.mktemp("sesame-state"), port=0, emulator_port=0, jobs_period=24 * 3600
    )
    try:
        yield running
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(saved)
        from chalicelib.service.context import reset_services

        reset_services()


@pytest.fixture(scope="session")
def base_url(stack: LocalStack) -> str:
    """Where the app answers, e.g. http://127.0.0.1:41234."""
    return stack.base_url


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright's driver for the session."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's headless Chromium (SESAME_CHROMIUM), kept off the internet."""
    executable = os.environ.get("SESAME_CHROMIUM", "/usr/bin/chromium")
    launched = playwright_instance.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, base_url: str) -> Iterator[OpenPage]:
    """Open a page in a fresh browser context (no cookies, no cache): one person, one browser.

    `locale` sets the browser's language (Accept-Language); every context is closed at the end.
    """
    contexts: list[BrowserContext] = []

    def _open(locale: str = "fr-CA") -> Page:
        context = browser.new_context(
            base_url=base_url,
            viewport={"width": WIDTHS[-1], "height": 900},
            locale=locale,
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    """The test's main page (the requester's browser), in its own fresh context."""
    return open_page()


@pytest.fixture(scope="session", autouse=True)
def _expect_timeout() -> None:
    """Give Playwright's auto-waiting assertions a deadline suited to a busy 2-core machine."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


# --------------------------------------------------------------------------- people and data


def ascii_part(text: str) -> str:
    """An address's local part from a name: accents dropped, lower case (Chloé -> chloe)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return plain.lower()


def unique_email(prefix: str) -> str:
    """A work address nobody else in the session uses."""
    return f"{prefix}.{uuid.uuid4().hex[:12]}@mcn.gouv.qc.ca"


@dataclass(frozen=True)
class Person:
    """A requester and their manager, unique to one test."""

    name: str
    email: str
    manager_email: str


def new_person(first: str, last: str) -> Person:
    """A requester with a unique name and address, and a unique manager."""
    tag = uuid.uuid4().hex[:6]
    return Person(
        name=f"{first} {last}-{tag}",
        email=unique_email(ascii_part(f"{first}.{last}")),
        manager_email=unique_email("gestion"),
    )


# --------------------------------------------------------------------------- the outbox


def read_outbox(base_url: str) -> list[dict[str, Any]]:
    """Every e-mail sent so far (GET /dev/outbox.json), newest first."""
    with urlopen(f"{base_url}/dev/outbox.json", timeout=10) as response:  # noqa: S310
        mails: list[dict[str, Any]] = json.loads(response.read().decode("utf-8"))
    return mails


def wait_until(probe: Callable[[], T | None], what: str, timeout: float = DEADLINE_SECONDS) -> T:
    """Call `probe` every few milliseconds until it returns something, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def link_path(mail: dict[str, Any], kind: str) -> str | None:
    """The path (with the token) of the mail's first link of one kind: confirm, decide, status."""
    for link in mail["links"]:
        path = urlsplit(link).path
        if path.startswith(f"/{kind}/"):
            return path
    return None


def mails_about(base_url: str, requester_email: str) -> list[dict[str, Any]]:
    """E-mails sent to a requester or mentioning them (approval requests quote the requester)."""
    return [
        m
        for m in read_outbox(base_url)
        if requester_email in m["to"] or requester_email in m["text"]
    ]


def wait_for_mail(
    base_url: str,
    *,
    to: str,
    kind: str | None = None,
    about: str | None = None,
    subject: str | None = None,
    timeout: float = DEADLINE_SECONDS,
) -> dict[str, Any]:
    """Poll the outbox until an e-mail to `to` appears, newest first, that matches.

    `kind` asks for a link of that kind (confirm, decide, status); `about` for a text that
    must appear in the body (e.g. the requester's address, for officers shared by all tests);
    `subject` for a text that must appear in the subject.
    """

    def probe() -> dict[str, Any] | None:
        for mail in read_outbox(base_url):
            if to not in mail["to"]:
                continue
            if kind is not None and link_path(mail, kind) is None:
                continue
            if about is not None and about not in mail["text"]:
                continue
            if subject is not None and subject not in mail["subject"]:
                continue
            return mail
        return None

    wanted = f"an e-mail to {to}" + (f" with a /{kind}/ link" if kind else "")
    return wait_until(probe, wanted + (f" about {about}" if about else ""), timeout)


# --------------------------------------------------------------------------- pages


def shoot(page: Page, name: str) -> None:
    """Save full-page screenshots at 360 px and 1280 px; check no horizontal scroll at 360 px.

    The viewport goes back to its previous size afterwards.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    previous = page.viewport_size or {"width": WIDTHS[-1], "height": 900}
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            if width == WIDTHS[0]:
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth"
                    " - document.documentElement.clientWidth"
                )
                assert overflow <= 0, (
                    f"{name}: the page scrolls sideways by {overflow} px at {width} px wide"
                )
    finally:
        page.set_viewport_size(previous)


def axe_violations(page: Page, label: str) -> list[str]:
    """Run axe-core on the page as it is now; return one line per violated rule (and print the
    full report, which pytest shows when the test fails)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    if not results.violations_count:
        return []
    print(f"\naxe-core on {label} ({page.url}):\n{results.generate_report()}")
    return [
        f"{label}: {violation['id']} ({violation['impact']}) on "
        + "; ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
    ]


def tab_to(page: Page, selector: str, max_presses: int = 60) -> None:
    """Press Tab, like a keyboard user, until the element matching `selector` has the focus."""
    for _ in range(max_presses):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus after {max_presses} Tab presses")
