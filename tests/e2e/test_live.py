"""The live avatar stream in the page: on screen and alive from the first load, a typed reply
played on it, never blanked by a turn, a regenerate or a reopened conversation; hands-free
speech (Chromium's fake microphone plays real speech from Debian pocketsphinx-testdata) and
barge-in. Every check waits on what the page shows or measures (window.warmchatLive.stats)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.e2e.app_server import start_app
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.helpers import send, wait_ready, wait_replies
from tests.fakes import FakeLLM, PrefillLLM
from tests.unit.app.test_live import wait_for

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
LONG_REPLY = ("That is lovely to hear. Tell me everything about it, from the very beginning. "
              "I want to know where you went and who you met. Take your time, I am listening to every word.")
LIVE_ARGS = CHROMIUM_ARGS + ["--autoplay-policy=no-user-gesture-required"]
WAIT_MS = 60_000


def stats(page) -> dict:
    return page.evaluate("() => window.warmchatLive.stats")


def wait_live(page) -> None:
    """The live stream plays: its video advances past a second of media time."""
    page.wait_for_function("() => { const l = window.warmchatLive; return l && l.stats.playing && l.video "
                           "&& l.video.currentTime > 1 }", timeout=WAIT_MS)


def media_time(page) -> float:
    return page.evaluate("() => window.warmchatLive.video.currentTime")


def wait_advanced(page, since: float, by: float = 1.0) -> None:
    """The live video played on: `by` seconds of media time after `since`."""
    page.wait_for_function("([t, d]) => window.warmchatLive.video.currentTime > t + d", arg=[since, by],
                           timeout=WAIT_MS)


def assert_avatar_visible(page) -> None:
    """The live video is on screen (not hidden, not covered by a progress overlay) and the clip
    player it replaces is hidden."""
    expect(page.locator("#live-panel video")).to_be_visible()
    expect(page.locator("#live-panel .pending, #live-panel .eta-bar")).to_have_count(0)
    expect(page.locator("#avatar-video")).to_be_hidden()


LIVE_LLM = PrefillLLM([(LONG_REPLY, "happy", 0.8), ("I hear you. Go on.", "neutral", 0.5)])


@pytest.fixture(scope="module")
def live_url(tmp_path_factory):
    demo, url = start_app(tmp_path_factory.mktemp("live"), LIVE_LLM, live=True)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def live_browser(playwright):
    b = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=LIVE_ARGS)
    yield b
    b.close()


@pytest.fixture
def live_page(live_browser):
    context = live_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_the_avatar_is_live_from_the_first_load(live_page, live_url):
    page = live_page
    page.goto(live_url)
    # a still of the avatar first, then the video over it, alive
    expect(page.locator("#live-panel img.wc-live-poster")).to_be_attached(timeout=WAIT_MS)
    wait_live(page)
    assert_avatar_visible(page)
    t = media_time(page)
    wait_advanced(page, t)  # idling, not a frozen frame
    assert stats(page)["state"] in ("idle", "listening")


def test_a_typed_reply_plays_on_the_stream_as_one_run_of_speech(live_page, live_url):
    page = live_page
    page.goto(live_url)
    wait_ready(page)
    wait_live(page)
    send(page, "I went to the mountains!")
    # the avatar starts speaking on the live stream; during the turn it stays on screen
    page.wait_for_function("() => window.warmchatLive.stats.speaking", timeout=WAIT_MS)
    assert_avatar_visible(page)
    page.wait_for_function("() => window.warmchatLive.stats.speechStarts.length >= 1 && "
                           "!window.warmchatLive.stats.speaking", timeout=WAIT_MS)
    s = stats(page)
    # three sentences, queued ahead of playback: one unbroken run of speech, no silent gap between them
    assert len(s["speechStarts"]) == 1 and s["sentAt"] is not None and s["firstSpeechAt"] > s["sentAt"]
    assert s["mode"] == "live" and s["state"] in ("idle", "listening")
    wait_replies(page, 2)


def test_the_message_being_typed_is_prefilled_before_it_is_sent(live_page, live_url):
    live_page.goto(live_url)
    wait_ready(live_page)
    wait_live(live_page)
    box = live_page.locator("#message textarea")
    box.press_sequentially("I went to the sea")
    # a pause in typing: the page sends the text so far and the server evaluates its reply's prompt
    live_page.wait_for_function("() => window.warmchatLive.stats.drafts >= 1", timeout=WAIT_MS)
    wait_for(lambda: any(path[-1].text == "I went to the sea" for _, path, _ in LIVE_LLM.prefills))
    ahead = next(path for _, path, _ in reversed(LIVE_LLM.prefills) if path[-1].text == "I went to the sea")
    box.press_sequentially(" today")
    live_page.locator("#send").click()
    wait_replies(live_page, 2)
    asked = next(path for _, path, _ in reversed(LIVE_LLM.calls) if path[-1].text == "I went to the sea today")
    assert [t.text for t in ahead[:-1]] == [t.text for t in asked[:-1]]  # the same conversation before it


def test_a_sentence_s_last_key_sends_its_text_to_be_prefilled_without_a_pause(live_page, live_url):
    live_page.goto(live_url)
    wait_ready(live_page)
    wait_live(live_page)
    box = live_page.locator("#message textarea")
    box.press_sequentially("I went out. To the", delay=20)  # no pause anywhere: only the "." sends
    live_page.wait_for_function("() => window.warmchatLive.stats.drafts >= 1", timeout=WAIT_MS)
    assert stats(live_page)["draftTexts"][0] == "I went out."
    wait_for(lambda: any(path[-1].text == "I went out." for _, path, _ in LIVE_LLM.prefills))
    # then the pause after the last key sends the rest, as before
    live_page.wait_for_function("() => window.warmchatLive.stats.drafts >= 2", timeout=WAIT_MS)
    assert stats(live_page)["draftTexts"][1] == "I went out. To the"


def test_regenerate_and_reopen_never_blank_the_avatar(live_page, live_url):
    page = live_page
    page.goto(live_url)
    wait_ready(page)
    wait_live(page)
    send(page, "Hello avatar")
    wait_replies(page, 2)
    t = media_time(page)
    page.locator("#regenerate").click()
    assert_avatar_visible(page)  # while the new reply is written
    page.wait_for_function("() => window.warmchatLive.stats.speechStarts.length >= 2", timeout=WAIT_MS)
    assert_avatar_visible(page)
    wait_advanced(page, t, 2.0)
    # reopen the conversation from the picker: the stream goes on
    page.get_by_text("Conversations", exact=True).click()
    page.locator("#conv-picker input").click()
    page.get_by_role("option").first.click()
    page.get_by_role("button", name="Open", exact=True).click()
    wait_replies(page, 2)
    t = media_time(page)
    wait_advanced(page, t)
    assert_avatar_visible(page)


def test_without_mediasource_the_page_says_so_and_plays_clips(live_browser, live_url):
    context = live_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;")
    try:
        page.goto(live_url)
        wait_ready(page)
        expect(page.locator("#live-panel .wc-live-notice")).to_contain_text("Live video is unavailable")
        send(page, "Hello avatar")
        expect(page.locator("#avatar-video video")).to_have_attribute("src", re.compile(r".+\.mp4"))
        expect(page.locator("#avatar-video")).to_be_visible()
    finally:
        context.close()


# --- hands-free --------------------------------------------------------------------------------


def _speech_wav(path: Path, gaps_s: list[float], files: list[str]) -> Path:
    """Real speech files with silences after each (16 kHz mono 16-bit WAV)."""
    parts = []
    for name, gap in zip(files, gaps_s):
        pcm, sr = sf.read(LIBRIVOX / name, dtype="float32")
        assert sr == 16000
        parts += [pcm, np.zeros(int(gap * sr), np.float32)]
    sf.write(path, np.concatenate(parts), 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def voice_app(tmp_path_factory):
    if not LIBRIVOX.is_dir():
        pytest.skip("Debian pocketsphinx-testdata is not installed")
    demo, url = start_app(tmp_path_factory.mktemp("voice"), FakeLLM([(LONG_REPLY, "happy", 0.8)]), live=True)
    yield url
    demo.close()


class HeldLLM(FakeLLM):
    """A FakeLLM whose first reply waits until `go` is set: the avatar thinks meanwhile."""

    def __init__(self, replies=None):
        super().__init__(replies)
        self.go = threading.Event()

    def stream_reply(self, persona, path, cues):
        if not self.calls:
            self.go.wait(WAIT_MS / 1000)
        yield from super().stream_reply(persona, path, cues)


@pytest.fixture(scope="module")
def held_voice_app(tmp_path_factory):
    if not LIBRIVOX.is_dir():
        pytest.skip("Debian pocketsphinx-testdata is not installed")
    llm = HeldLLM([("That is lovely to hear.", "happy", 0.6)])
    demo, url = start_app(tmp_path_factory.mktemp("held"), llm, live=True)
    yield url, llm
    demo.close()


def _voice_page(playwright, wav: Path):
    """A Chromium whose microphone plays `wav` once (from when the page opens it)."""
    b = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=LIVE_ARGS + [
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop"])
    page = b.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    return b, page


def _hands_free(playwright, url: str, wav: Path):
    """A Chromium whose microphone plays `wav`, on the app at `url` with hands-free on."""
    b, page = _voice_page(playwright, wav)
    try:
        _start_hands_free(page, url)
    except BaseException:
        b.close()
        raise
    return b, page


def _start_hands_free(page, url: str) -> None:
    """Open the app, wait for its live stream, and turn the hands-free microphone on."""
    page.goto(url)
    wait_ready(page)
    wait_live(page)
    mic = page.locator("#live-mic")
    expect(mic).to_have_text("Talk hands-free")  # a drawn microphone and words: no emoji font needed
    assert mic.locator("svg").count() == 1
    mic.click()
    expect(mic).to_have_text("Stop hands-free")


def test_a_hands_free_spoken_turn(playwright, voice_app, tmp_path):
    wav = _speech_wav(tmp_path / "one.wav", [4.0], ["sense_and_sensibility_01_austen_64kb-0870.wav"])
    b, page = _hands_free(playwright, voice_app, wav)
    try:
        # the person speaks; the end of the turn is found, transcribed and answered, hands-free
        page.wait_for_function("() => window.warmchatLive.stats.transcripts.length >= 1", timeout=WAIT_MS)
        expect(page.locator("#history")).to_contain_text("hello from the microphone")
        # while they spoke, the page was shown what was heard so far
        assert stats(page)["partials"], "no partial transcript came while the person spoke"
        page.wait_for_function("() => window.warmchatLive.stats.speechStarts.length >= 1", timeout=WAIT_MS)
        s = stats(page)
        assert s["micOn"] and s["transcripts"][0] == "hello from the microphone"
        assert s["speechEndAt"] is not None and s["speechStarts"][0] > s["speechEndAt"]
    finally:
        b.close()


def test_going_on_speaking_while_the_avatar_thinks_cancels_its_reply_and_both_are_answered_once(
        playwright, held_voice_app, tmp_path):
    url, llm = held_voice_app
    wav = _speech_wav(tmp_path / "held.wav", [1.5, 4.0], ["sense_and_sensibility_01_austen_64kb-0880.wav",
                                                         "sense_and_sensibility_01_austen_64kb-0890.wav"])
    b, page = _hands_free(playwright, url, wav)
    try:
        # the first utterance's reply is held back: the second is heard while the avatar thinks
        page.wait_for_function("() => window.warmchatLive.stats.transcripts.length >= 2", timeout=WAIT_MS)
        assert stats(page)["bargeAt"] is None  # nothing was spoken yet: no barge-in, no cut
        llm.go.set()
        # the held reply is not said over the person: the second turn is answered, reading both
        # messages (the greeting and one reply show a feeling), and the first turn says why it has none
        page.wait_for_function("() => document.querySelectorAll('#history .wc-feeling').length >= 2",
                               timeout=WAIT_MS)
        expect(page.locator("#history")).to_contain_text("hello from the microphone")
        assert len(llm.calls) == 2 and len(llm.calls[1][1]) == len(llm.calls[0][1]) + 1
        page.wait_for_function("() => window.warmchatLive.stats.speechStarts.length >= 1", timeout=WAIT_MS)
        page.wait_for_function("() => { const s = window.warmchatLive.stats; return !s.speaking "
                               "&& s.state !== 'thinking' }", timeout=WAIT_MS)
        assert len(stats(page)["speechStarts"]) == 1  # only the second reply was spoken
        assert page.locator(".wc-feeling").count() == 2
    finally:
        llm.go.set()
        b.close()


def test_speaking_over_the_avatar_stops_it_and_it_listens(playwright, voice_app, tmp_path):
    wav = _speech_wav(tmp_path / "two.wav", [5.0, 4.0], ["sense_and_sensibility_01_austen_64kb-0880.wav",
                                                        "sense_and_sensibility_01_austen_64kb-0870.wav"])
    b, page = _hands_free(playwright, voice_app, wav)
    try:
        page.wait_for_function("() => window.warmchatLive.stats.speaking", timeout=WAIT_MS)
        # the second utterance starts while the long reply plays: barge-in
        page.wait_for_function("() => window.warmchatLive.stats.bargeAt !== null", timeout=WAIT_MS)
        # its speech stops (what the page already had of it is silenced) and it listens
        page.wait_for_function("() => { const s = window.warmchatLive.stats; return s.state === 'listening' "
                               "&& !s.speaking }", timeout=WAIT_MS)
        s = stats(page)
        assert s["bargeSilencedAt"] >= s["bargeAt"] and len(s["transcripts"]) == 1
        # the stream was cut: the speech it had buffered beyond the cut is dropped (the lips stop
        # there too), and the new stream plays on from the cut
        # (a reply's start cuts the idle video buffered ahead too: the barge-in's cut is the one after it)
        page.wait_for_function("() => { const s = window.warmchatLive.stats; "
                               "return s.cuts.some((c) => c.atMs >= s.bargeAt) }", timeout=WAIT_MS)
        s = stats(page)
        cut = next(c for c in s["cuts"] if c["atMs"] >= s["bargeAt"])
        wait_advanced(page, cut["at"], 1.0)
        s = stats(page)
        assert s["mode"] == "live" and not s["error"]  # the cut applied (a failed one falls back to clips)
        # and the interruption is answered as a turn of its own
        page.wait_for_function("() => window.warmchatLive.stats.transcripts.length >= 2", timeout=WAIT_MS)
    finally:
        b.close()


def test_a_live_conversation_reopened_without_mediasource_shows_the_avatar_in_the_clip_player(live_browser,
                                                                                                live_url):
    context = live_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(live_url)
        wait_ready(page)
        wait_live(page)
        send(page, "Hello avatar")
        wait_replies(page, 2)  # its reply played on the live stream: it has no clip of its own
        context.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;")
        again = context.new_page()  # the same browser reopens its conversation, now without MediaSource
        again.goto(live_url)
        wait_replies(again, 2)
        expect(again.locator("#avatar-video video")).to_have_attribute("src", re.compile(r"listening.*\.mp4"))
        expect(again.locator("#avatar-video")).to_be_visible()
    finally:
        context.close()
