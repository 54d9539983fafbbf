"""Fixtures of the browser tests: the portal served by daphne with a real worker, and Chromium.

The server and the worker run in processes of their own on the test database, so the
tests create their data with `transactional_db` (committed, hence visible to them). They
need MariaDB and Redis and are skipped on the embedded SQLite default.
"""

import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings

from home.tests.browser.server import PortalServer

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
BROWSER_PASSWORD = "browser-test-pass-7"
# Without the background-networking flags Chromium keeps trying hosts outside this machine.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
]
ACTION_TIMEOUT_MS = 10_000
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not shutil.which(CHROMIUM_PATH):
        pytest.skip(
            f"Chromium is missing at {CHROMIUM_PATH}; install the Debian package chromium "
            "or set CHROMIUM_PATH"
        )
    return CHROMIUM_PATH


@pytest.fixture(scope="session")
def portal_server(worker_process, tmp_path_factory) -> Iterator[PortalServer]:
    """Daphne serving the portal with production settings, beside the worker process."""
    folder = tmp_path_factory.mktemp("portal")
    env = {
        **worker_process.env,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_STATIC_MANIFEST": "0",
        "DJANGO_DEBUG_TOOLBAR": "0",
    }
    server = PortalServer(env=env, cwd=settings.BASE_DIR, log_path=folder / "daphne.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium for one test module.

    Playwright's synchronous API keeps an event loop running in this thread while it is
    open. The ORM calls that browser tests make between steps are synchronous and safe,
    so Django's async-context check is off meanwhile. Playwright stops at the end of the
    module, so tests of other modules that run async views keep a thread without a loop.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught script errors and Content-Security-Policy refusals of the test's pages."""
    return []


@pytest.fixture
def signed_in(
    portal_server, worker_process, browser, transactional_db, page_errors
) -> Iterator[Callable]:
    """Return a function that opens a Chromium page logged in as a user, at Home.

    The test fails at teardown when a page raised an uncaught script error or the
    browser refused a resource under the Content-Security-Policy.
    """
    worker_process.ensure_running()
    contexts = []

    def sign_in(user, *, color_scheme: str = "light", viewport: dict | None = None):
        user.set_password(BROWSER_PASSWORD)
        user.save(update_fields=["password"])
        context = browser.new_context(
            base_url=portal_server.url,
            color_scheme=color_scheme,
            viewport=viewport or {"width": 1280, "height": 900},
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(f"page error: {error}"))
        page.on("console", lambda message: _console_note(message, page_errors))
        page.goto("/accounts/login/?next=/home/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(BROWSER_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/home/**")
        return page

    yield sign_in

    for context in contexts:
        context.close()
    assert page_errors == [], "the browser reported errors:\n" + "\n".join(page_errors)


def _console_note(message, page_errors: list[str]) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        page_errors.append(f"CSP: {message.text}")
