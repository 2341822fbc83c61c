"""What the browser tests do the same way each time."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def wait_ready(page) -> None:
    """The page has loaded: the persona's greeting is shown."""
    expect(page.locator("#reply-text")).not_to_have_text(re.compile(r"^\s*$"), timeout=30_000)


def send(page, text: str) -> None:
    box = page.locator("#message textarea")
    box.fill(text)
    page.locator("#send").click()


def wait_replies(page, n: int) -> None:
    """`n` finished avatar turns are in the history (each final reply carries its [emotion] tag;
    the greeting counts as one)."""
    expect(page.locator("#history em")).to_have_count(n, timeout=30_000)
