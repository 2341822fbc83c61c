"""A person chats: sends, sees the reply, its emotion and the avatar video; regenerates; edits."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.helpers import send, wait_ready


def test_send_shows_reply_emotion_and_video(page, app_url):
    page.goto(app_url)
    wait_ready(page)
    send(page, "I got the job, I am so happy!")
    history = page.locator("#history")
    expect(history).to_contain_text("I got the job, I am so happy!")
    expect(history).to_contain_text("Tell me more.")
    expect(page.locator("#emotion-badge")).to_contain_text(re.compile(r"(happy|sad) \d\.\d"))
    video = page.locator("#avatar-video video")
    expect(video).to_have_attribute("src", re.compile(r".+\.mp4"))


def test_regenerate_makes_a_second_branch(page, app_url):
    page.goto(app_url)
    wait_ready(page)
    send(page, "Hello avatar")
    expect(page.locator("#history")).to_contain_text("Hello avatar")
    expect(page.locator("#emotion-badge")).to_contain_text(re.compile(r"\d\.\d"))
    page.locator("#regenerate").click()
    page.get_by_role("tab", name="Tree").click()
    expect(page.locator("#tree-summary")).to_contain_text("2 branches")
    page.locator("#node-pick input").click()
    # both replies to "Hello avatar" (depth 2) are listed as nodes of the tree
    expect(page.get_by_role("option", name=re.compile(r"\[2\] avatar: "))).to_have_count(2)
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Chat").click()
    page.locator("#branch input").click()
    expect(page.get_by_role("option", name=re.compile(r"^branch \d"))).to_have_count(2)


def test_over_long_message_is_refused_and_kept(page, app_url):
    page.goto(app_url)
    wait_ready(page)
    long_text = "word " * 60  # the fixture's limit is 200 characters
    send(page, long_text)
    expect(page.locator("#chat-status")).to_contain_text("the limit is 200")
    expect(page.locator("#message textarea")).to_have_value(long_text)
