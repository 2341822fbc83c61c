"""Browser tests: the app runs in-process on a free loopback port with fast fake services (scripted
LLM, keyword emotions, a tiny MP4 per sentence); Debian chromium is driven by Playwright.

A failing test leaves a screenshot in tests/e2e/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

# Every check waits on what the page shows, never on time; on a loaded 2-core machine a reply can
# take many seconds, so the waits are long (a passing check returns as soon as it holds; only a
# failing one waits this long).
WAIT_MS = 60_000
expect.set_options(timeout=WAIT_MS)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from tests.e2e.app_server import start_app  # noqa: E402
from tests.fakes import FakeLLM  # noqa: E402

SHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DB_PATHS: dict[str, str] = {}  # app url -> its conversation database (must never be served)
REPLIES = [("I am so happy to hear that! Tell me more.", "happy", 0.8),
           ("That sounds hard. I am here with you.", "sad", 0.6)]


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("app")
    demo, url = start_app(data_dir, FakeLLM(REPLIES))
    DB_PATHS[url] = str(data_dir / "conversations.sqlite3")
    yield url
    demo.close()


@pytest.fixture(scope="session")
def failing_app_url(tmp_path_factory) -> Iterator[str]:
    demo, url = start_app(tmp_path_factory.mktemp("failing"), FakeLLM(fail=True))
    yield url
    demo.close()


@pytest.fixture(scope="session")
def playwright():
    """One Playwright per test session (its sync API allows one per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright):
    b = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)  # clicks, page loads and wait_for_function, as long as expect
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SHOTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
