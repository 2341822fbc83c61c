"""The LLM unreachable; two people at once; the API endpoint."""

from __future__ import annotations

from playwright.sync_api import expect

import re

from tests.e2e.helpers import send, wait_ready


def test_unreachable_llm_shows_message_and_keeps_turn(page, failing_app_url):
    page.goto(failing_app_url)
    wait_ready(page)
    send(page, "Are you there?")
    expect(page.locator("#chat-status")).to_contain_text("Cannot reach the LLM server")
    expect(page.locator("#chat-status")).to_contain_text("your message is kept")
    expect(page.locator("#history")).to_contain_text("Are you there?")
    page.locator("#regenerate").click()  # still unreachable: the same clear message, nothing lost
    expect(page.locator("#chat-status")).to_contain_text("Cannot reach the LLM server")
    expect(page.locator("#history")).to_contain_text("Are you there?")


def test_two_sessions_do_not_see_each_other(browser, app_url):
    pages = []
    for _ in range(2):
        ctx = browser.new_context()
        pages.append(ctx.new_page())
    try:
        for p in pages:
            p.goto(app_url)
            wait_ready(p)
        send(pages[0], "alpha secret from the first person")
        send(pages[1], "bravo secret from the second person")
        for p, mine, theirs in ((pages[0], "alpha", "bravo"), (pages[1], "bravo", "alpha")):
            expect(p.locator("#history")).to_contain_text(f"{mine} secret")
            expect(p.locator("#emotion-badge")).to_contain_text(re.compile(r"\d\.\d"))
            expect(p.locator("#history")).not_to_contain_text(f"{theirs} secret")
    finally:
        for p in pages:
            p.context.close()


def test_api_send(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    result = client.predict("Hello through the API", api_name="/send")
    history = result[0]
    texts = " ".join(str(m.get("content")) for m in history)
    assert "Hello through the API" in texts
    assert "Tell me more." in texts or "I am here with you." in texts


def test_conversation_database_cannot_be_downloaded(page, app_url):
    import urllib.error
    import urllib.request

    page.goto(app_url)
    wait_ready(page)
    src = page.locator("#avatar-video video")
    send(page, "show me a video")
    expect(src).to_have_attribute("src", re.compile(r".+\.mp4"))
    db_url = re.sub(r"/file=.*$", "", src.get_attribute("src")) + "/file=" + _db_path(app_url)
    try:
        status = urllib.request.urlopen(db_url).status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status in (403, 404)


def _db_path(app_url: str) -> str:
    from tests.e2e import conftest

    return conftest.DB_PATHS[app_url]


def _texts(history: list) -> str:
    """The words of a Chatbot history as the HTTP API returns it (content: a list of parts)."""
    parts = []
    for message in history:
        content = message.get("content")
        parts += [c.get("text", "") for c in content] if isinstance(content, list) else [str(content)]
    return " ".join(parts)


def test_a_lone_surrogate_through_the_api_does_not_break_the_session(app_url):
    """Text that is not valid Unicode (a lone surrogate, as a JSON client can send) is kept as
    U+FFFD; the same web session answers the next message."""
    from tests.e2e.helpers import call_api

    first = call_api(app_url, "send", ["broken \ud800 text"], session_hash="surrogate1")
    assert "broken \ufffd text" in _texts(first[1])  # outputs: state, history, ...
    second = call_api(app_url, "send", ["and the next message"], session_hash="surrogate1")
    texts = _texts(second[1])
    assert "broken \ufffd text" in texts and "and the next message" in texts
