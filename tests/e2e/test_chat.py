"""A person chats: sends, sees the reply, its emotion and the avatar video; regenerates; edits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import send, wait_ready, wait_replies


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
    # the reply's second sentence is a second segment, shown after the first has played
    expect(video).to_have_attribute("src", re.compile(r"-1\.mp4$"))
    # the avatar plays by itself: wait until the browser has played some of it, however long a
    # loaded machine takes (a check of one instant failed under load). What plays is the live
    # stream once it has started (app/ui/live.js; the clip player is hidden then and may not
    # play at all), else the clip player's segment (autoplay).
    page.wait_for_function("""() => {
        const live = window.warmchatLive;
        if (live && live.stats.mode === "live" && live.video && live.video.currentTime > 0) return true;
        const v = document.querySelector('#avatar-video video');
        return v !== null && /-1\\.mp4$/.test(v.src) && (v.currentTime > 0 || v.ended);
    }""")


def test_regenerate_makes_a_second_branch(page, app_url):
    page.goto(app_url)
    wait_ready(page)
    send(page, "Hello avatar")
    expect(page.locator("#history")).to_contain_text("Hello avatar")
    wait_replies(page, 2)
    page.locator("#regenerate").click()
    page.get_by_role("tab", name="Tree").click()
    expect(page.locator("#tree-summary")).to_contain_text("2 branches")
    page.locator("#node-pick input").click()
    # both replies to "Hello avatar" (depth 2) are listed as nodes of the tree
    expect(page.get_by_role("option", name=re.compile(r"\[2\] avatar: "))).to_have_count(2)
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Chat").click()
    wait_replies(page, 2)  # the greeting and the new reply only: the old one is on the other branch
    page.locator("#branch input").click()
    expect(page.get_by_role("option", name=re.compile(r"^branch \d"))).to_have_count(2)


def test_avatar_listens_while_the_person_types(page, app_url):
    page.goto(app_url)
    wait_ready(page)
    page.locator("#message textarea").click()
    expect(page.locator("#avatar-video video")).to_have_attribute("src", re.compile(r"listening.*\.mp4"))
    expect(page.locator("#mic")).to_be_visible()  # speech input offered when an ASR is configured


def test_over_long_message_is_refused_and_kept(page, app_url):
    page.goto(app_url)
    wait_ready(page)
    long_text = "word " * 60  # the fixture's limit is 200 characters
    send(page, long_text)
    expect(page.locator("#chat-status")).to_contain_text("the limit is 200")
    expect(page.locator("#message textarea")).to_have_value(long_text)


def test_edit_makes_a_branch_and_switching_back_restores_it(page, app_url):
    page.goto(app_url)
    wait_ready(page)
    send(page, "My cat is called Tom")
    wait_replies(page, 2)
    page.locator("#edit-pick input").click()
    page.get_by_role("option", name=re.compile("My cat is called Tom")).click()
    edit_box = page.locator("#edit-text textarea, #edit-text input").first
    expect(edit_box).to_have_value("My cat is called Tom")  # pre-filled with the picked message
    edit_box.fill("My dog is called Rex")
    page.locator("#edit").click()
    history = page.locator("#history")
    expect(history).to_contain_text("My dog is called Rex")
    expect(history).not_to_contain_text("My cat is called Tom")
    wait_replies(page, 2)
    page.locator("#branch input").click()
    page.get_by_role("option", name=re.compile(r"^branch 1 ")).click()
    expect(history).to_contain_text("My cat is called Tom")
    expect(history).not_to_contain_text("My dog is called Rex")


def test_conversation_reopens_after_a_restart_only_in_its_own_browser(browser, tmp_path):
    from tests.e2e.app_server import free_port, start_app
    from tests.fakes import FakeLLM

    port = free_port()
    demo, url = start_app(tmp_path, FakeLLM(), port=port)
    mine = browser.new_context()
    try:
        page = mine.new_page()
        page.goto(url)
        wait_ready(page)
        send(page, "Remember the blue kite")
        wait_replies(page, 2)
        page.get_by_text("Conversations", exact=True).click()
        page.locator("#conv-picker input").click()  # listed once the browser has remembered it
        expect(page.locator("li[role=option]")).to_have_count(1)
        # titled by its first message and when it was used, not "Chat with Ada" + an id
        expect(page.locator("li[role=option]").first).to_contain_text(
            re.compile(r"Remember the blue kite · ada · (today|yesterday) \d\d:\d\d"))
        demo.close()
        demo, url = start_app(tmp_path, FakeLLM(), port=port)  # a restart: new services, same data
        page = mine.new_page()
        page.goto(url)
        # the reload reopens this browser's last conversation where it was left
        expect(page.locator("#history")).to_contain_text("Remember the blue kite")
        wait_replies(page, 2)
        # with the last reply's own video in the player (its TurnMedia; FakeSpeak's names), not the
        # listening loop
        expect(page.locator("#avatar-video video")).to_have_attribute("src", re.compile(r"/\d+-\d+\.mp4$"))
        send(page, "And the red one")  # it goes on in the same conversation
        wait_replies(page, 3)
        expect(page.locator("#history")).to_contain_text("Remember the blue kite")
        page.get_by_text("Conversations", exact=True).click()
        page.locator("#conv-picker input").click()
        expect(page.locator("li[role=option]")).to_have_count(1)

        other = browser.new_context().new_page()  # another person's browser lists nothing of it
        other.goto(url)
        wait_ready(other)
        expect(other.locator("#history")).not_to_contain_text("blue kite")
        other.get_by_text("Conversations", exact=True).click()
        other.locator("#conv-picker input").click()
        expect(other.locator("li[role=option]")).to_have_count(0)
        other.context.close()
    finally:
        mine.close()
        demo.close()


@pytest.fixture
def hanging_app(tmp_path_factory):
    from tests.e2e.app_server import start_app
    from tests.fakes import HangingLLM

    from app.settings import Settings
    from dialogue.settings import LLMSettings

    llm = HangingLLM()
    # the app's LLM timeout (60 s by default, as long as the page waits) must not end the hanging
    # turn while a loaded machine is still drawing its progress
    settings = Settings(llm=LLMSettings(timeout_s=600))
    demo, url = start_app(tmp_path_factory.mktemp("hanging"), llm, settings=settings)
    yield url, llm
    llm.release.set()
    demo.close()


def test_the_clip_player_shows_the_avatar_from_the_first_load_and_is_never_covered_by_a_spinner(
        page, hanging_app):
    url, llm = hanging_app
    page.goto(url)
    wait_ready(page)
    video = page.locator("#avatar-video video")
    expect(video).to_have_attribute("src", re.compile(r"listening.*\.mp4"))  # not an empty player
    send(page, "please hang on a moment")
    assert llm.entered.wait(60), "the turn never reached the LLM"  # the reply is being written ...
    # ... and the history shows it on its way: the avatar's writing bubble (Gradio's own pending
    # timer only lasts until the turn's first output, the person's message)
    expect(page.locator("#history .wc-writing")).to_have_count(1)
    expect(page.locator("#avatar-video .pending, #avatar-video .eta-bar, #avatar-video .progress-text")).to_have_count(0)
    expect(video).to_be_visible()  # ... on the history only, never over the avatar
    llm.release.set()
    wait_replies(page, 2)
    expect(page.locator("#history .wc-writing")).to_have_count(0)  # the reply took its place
    expect(video).to_be_visible()
