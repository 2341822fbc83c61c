"""What the browser tests do the same way each time."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def wait_ready(page) -> None:
    """The page has loaded: the persona's greeting is shown and the load event has finished.

    While the load runs, Gradio's progress line ("processing | 0.3s") is the reply box's text, so
    a non-empty box alone does not say the load is over: its progress line must be gone too."""
    reply = page.locator("#reply-text")
    expect(reply).not_to_have_text(re.compile(r"^\s*$"))
    expect(reply.locator(".progress-text")).to_have_count(0)


def send(page, text: str) -> None:
    box = page.locator("#message textarea")
    box.fill(text)
    page.locator("#send").click()


def wait_replies(page, n: int) -> None:
    """`n` finished avatar turns are in the history (each saved reply's bubble ends with its feeling,
    app.ui.view.feeling_footer; the greeting counts as one)."""
    expect(page.locator("#history .wc-feeling")).to_have_count(n)


_OPENERS: dict[str, object] = {}  # session hash -> a urllib opener with that session's cookies


def call_api(app_url: str, api_name: str, data: list, session_hash: str) -> list:
    """POST one call to the app's HTTP API as a raw JSON client would (ASCII JSON, so text that is
    not valid Unicode travels as `\\udXXX` escapes) and return the final output values.

    Calls with the same session_hash share cookies, as one browser does (the server's owner
    cookie, app/access.py, must come back with every call of a session).
    Raises AssertionError with the server's message when the call ends in an error event."""
    import http.cookiejar
    import json
    import urllib.request

    opener = _OPENERS.setdefault(session_hash, urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())))
    base = app_url.rstrip("/") + f"/gradio_api/call/{api_name}"
    body = json.dumps({"data": data, "session_hash": session_hash}).encode("ascii")
    req = urllib.request.Request(base, data=body, headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=60) as resp:
        event_id = json.loads(resp.read())["event_id"]
    event, last = None, None
    with opener.open(f"{base}/{event_id}", timeout=60) as resp:
        for raw in resp:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                last = line[6:]
                if event in ("complete", "error"):
                    break
    assert event == "complete", f"the call ended with {event}: {last}"
    return json.loads(last)
