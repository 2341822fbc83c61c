"""app/live.py: a page's live session — the stream thread, turn sinks, the microphone's barge-in
and transcription (fake VAD and ASR; the procedural teacher; a flat 32 px renderer; real encoder)."""

from __future__ import annotations

import queue
import time

import numpy as np
import pytest

from app.live import LiveHub, LiveSession
from avatar.motion.clip import MotionClip, Role
from avatar.motion.generator import TeacherMotionGenerator
from avatar.pipeline import AvatarPipeline, Segment
from avatar.presence import PresenceState
from avatar.voice.base import SpeechClip
from dialogue.asr.vad import VadEvent
from emotion import EmotionState


class Flat:
    size = 32

    def stream_frames(self, motion):
        return (np.full((32, 32, 3), 100, np.uint8) for _ in range(motion.num_frames))

    def render_frame(self, motion, index):
        return np.full((32, 32, 3), 100, np.uint8)


class ScriptedVAD:
    """Speech starts in the first chunk fed and ends in the third."""

    def __init__(self):
        self.fed = 0

    def feed(self, pcm):
        self.fed += len(pcm)
        n = self.fed // len(pcm)
        return {1: [VadEvent("start", 0.0)], 3: [VadEvent("end", 2 * len(pcm) / 16000)]}.get(n, [])


class SaysHello:
    def transcribe(self, pcm, sr):
        from types import SimpleNamespace

        return SimpleNamespace(text=" hello there ")


def pipeline():
    return AvatarPipeline(tts=None, motion=TeacherMotionGenerator(), renderer=Flat())


def speech(frames=50):
    return Segment(Role.SPEAKING, MotionClip.still(frames, role=Role.SPEAKING), EmotionState.neutral(),
                   SpeechClip(np.full(frames * 640, 0.1, np.float32), 16000), text="hi")


@pytest.fixture
def session():
    live = LiveSession(pipeline(), asr=SaysHello, vad=ScriptedVAD)
    sent: queue.Queue = queue.Queue()
    live._send = sent.put  # what would go to the page, without a stream thread
    live.sent = sent
    return live


def next_message(sent, kind):
    while True:
        item = sent.get(timeout=30)
        if isinstance(item, dict) and item["type"] == kind:
            return item


def test_the_stream_thread_sends_an_mp4_and_stops_with_the_page():
    live = LiveSession(pipeline())
    got: queue.Queue = queue.Queue()
    live.connect(got.put)
    first = got.get(timeout=30)
    assert isinstance(first, bytes) and first[4:8] == b"ftyp"  # the init segment comes first
    assert live.connected
    live.disconnect()
    assert not live.connected


def test_turns_use_the_stream_only_while_the_page_plays_it(session):
    assert session.turn_sink() is None  # not connected: the chat plays clips
    session._thread = type("Alive", (), {"is_alive": lambda self: True})()
    assert session.turn_sink() is None  # connected, not yet playing
    session.on_message({"type": "playing"})
    sink = session.turn_sink()
    assert sink is not None and session.presence.state is PresenceState.THINKING
    session._thread = None


def test_speaking_over_the_avatar_barges_in_then_the_turn_is_transcribed(session):
    sink = session.presence.turn_sink()
    sink.put(speech())
    sink.put(speech())
    session.presence.next_chunk(4)
    assert session.presence.state is PresenceState.SPEAKING
    chunk = (np.full(1600, 3000, np.int16)).tobytes()  # 0.1 s
    session.hear(chunk)  # microphone off: ignored
    assert session.presence.queued == 2
    session.on_message({"type": "mic", "on": True})
    session.hear(chunk)
    barge = next_message(session.sent, "barge")
    assert barge["t"] == pytest.approx(4 / 25) and session.presence.queued == 0
    assert session.presence.state is PresenceState.LISTENING
    session.hear(chunk)
    session.hear(chunk)
    said = next_message(session.sent, "transcript")
    assert said["text"] == "hello there" and said["since_end_ms"] >= 0
    voice = session.take_voice("hello there")
    assert voice is not None and 0 < len(voice) <= 3 * 1600  # the utterance, without the silence after it
    assert session.take_voice("hello there") is None  # taken once


def test_speaking_on_while_the_avatar_thinks_cancels_its_reply_without_a_cut(session):
    sink = session.presence.turn_sink()  # a turn began (a pause ended the person's turn): it thinks
    session.on_message({"type": "mic", "on": True})
    session.hear((np.full(1600, 3000, np.int16)).tobytes())  # ... and they go on speaking
    assert sink.cancelled and session.presence.state is PresenceState.LISTENING
    assert not session._cut.is_set()  # nothing was said: the stream goes on uncut
    sent = []
    while not session.sent.empty():
        sent.append(session.sent.get())
    assert not any(isinstance(m, dict) and m["type"] == "barge" for m in sent)


def test_the_hub_finds_sessions_by_page_and_token():
    hub = LiveHub(lambda persona: pipeline())
    a = hub.open("page-a", None)
    assert hub.open("page-a", None) is a and hub.by_token(a.token) is a and hub.of("page-a") is a
    assert hub.by_token("guess") is None and hub.of("page-b") is None
    hub.close("page-a")
    assert hub.by_token(a.token) is None


def test_the_socket_needs_the_opening_page_s_owner_cookie_too():
    from app.access import OWNER_COOKIE, new_token

    hub = LiveHub(lambda persona: pipeline())
    mine, theirs = new_token(), new_token()
    live = hub.open("page-a", None, owner=mine.digest)
    assert hub.may_connect(live.token, {OWNER_COOKIE: mine.secret}) is live
    assert hub.may_connect(live.token, {OWNER_COOKIE: theirs.secret}) is None  # a stolen token alone
    assert hub.may_connect(live.token, {}) is None  # no cookie
    assert hub.may_connect("guess", {OWNER_COOKIE: mine.secret}) is None
    unowned = hub.open("page-b", None)  # a page without a cookie (an API client): the token decides
    assert hub.may_connect(unowned.token, {}) is unowned
    hub.close_all()


# --- transcription while the person speaks ------------------------------------------------------


class QuietAwareVAD:
    """Each 0.1 s chunk is speech ("s") or quiet ("q") by a script; the turn ends after 6 quiet
    chunks (0.6 s), as the Silero detector's end-of-turn rule does; `silence_s` as it reports."""

    def __init__(self, script: str):
        self.script, self.k, self.quiet, self.in_speech = script, 0, 0, False

    @property
    def silence_s(self) -> float:
        return 0.1 * self.quiet if self.in_speech else 0.0

    def feed(self, pcm):
        kind, t = self.script[self.k], 0.1 * self.k
        self.k += 1
        if kind == "s":
            self.quiet = 0
            if not self.in_speech:
                self.in_speech = True
                return [VadEvent("start", t)]
            return []
        if self.in_speech:
            self.quiet += 1
            if self.quiet == 6:
                self.in_speech, self.quiet = False, 0
                return [VadEvent("end", t - 0.5)]
        return []


class CountingASR:
    """Says how many seconds it heard; counts its calls (each one a transcription)."""

    def __init__(self):
        self.calls: list[float] = []

    def transcribe(self, pcm, sr):
        from types import SimpleNamespace

        self.calls.append(len(pcm) / sr)
        return SimpleNamespace(text=f"heard {len(pcm) / sr:.1f} s")


def spoken_session(script: str):
    asr = CountingASR()
    live = LiveSession(pipeline(), asr=lambda: asr, vad=lambda: QuietAwareVAD(script))
    sent: queue.Queue = queue.Queue()
    live._send = sent.put
    live.on_message({"type": "mic", "on": True})
    chunk = np.full(1600, 3000, np.int16).tobytes()  # 0.1 s
    return live, sent, asr, chunk


def test_partial_transcripts_come_while_the_person_speaks():
    live, sent, asr, chunk = spoken_session("s" * 25 + "q" * 6)
    for _ in range(25):
        live.hear(chunk)
    partial = next_message(sent, "partial")  # before the turn has ended
    assert partial["text"].startswith("heard") and live._mic._in_speech


def test_the_final_transcript_is_begun_in_the_quiet_before_the_turn_ends():
    live, sent, asr, chunk = spoken_session("s" * 8 + "q" * 6)
    for _ in range(8 + 3):  # the person spoke 0.8 s and has been quiet 0.3 s: the turn goes on
        live.hear(chunk)
    assert live._mic._in_speech
    wait_for(lambda: any(abs(c - 0.8) < 1e-6 for c in asr.calls))  # the speech so far, its quiet held back
    calls = len(asr.calls)
    for _ in range(3):
        live.hear(chunk)  # the turn ends
    said = next_message(sent, "transcript")
    assert said["text"] == "heard 0.8 s" and len(asr.calls) == calls  # ready: not transcribed again
    assert [m["stage"] for m in live.trace if m["stage"] != "asr"] == ["vad_end", "transcript"]


def test_a_pause_inside_the_turn_is_transcribed_with_the_rest():
    live, sent, asr, chunk = spoken_session("s" * 5 + "q" * 3 + "s" * 5 + "q" * 6)
    for _ in range(5 + 3):
        live.hear(chunk)
    wait_for(lambda: any(abs(c - 0.5) < 1e-6 for c in asr.calls))  # begun in the pause
    for _ in range(5 + 6):  # the person goes on, then the turn ends
        live.hear(chunk)
    said = next_message(sent, "transcript")
    assert said["text"] == "heard 1.3 s"  # the whole turn, its pause included


def wait_for(condition, timeout_s: float = 30.0) -> None:
    """Wait until `condition()` holds (another thread makes it true); fail after `timeout_s`."""
    import threading

    done = threading.Event()
    while not done.wait(0.01):
        if condition():
            return
        timeout_s -= 0.01
        assert timeout_s > 0, "the condition never held"


def test_a_cut_ends_the_mp4_and_starts_a_new_one_the_page_plays_from_the_cut():
    live = LiveSession(pipeline())
    got: queue.Queue = queue.Queue()
    live.connect(got.put)
    try:
        assert got.get(timeout=30)[4:8] == b"ftyp"
        live.cut()
        cut = next_message(got, "cut")
        assert cut["t"] > 0  # the old stream's media time where the new one starts
        first_after = got.get(timeout=30)
        while isinstance(first_after, dict):
            first_after = got.get(timeout=30)
        assert first_after[4:8] == b"ftyp"  # a new MP4: init segment first
    finally:
        live.disconnect()


def messages_until(got, stop, timeout_s: float = 30.0) -> list[dict]:
    """The JSON messages the stream sends (its MP4 bytes skipped) until one satisfies `stop`."""
    out, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            item = got.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(item, dict):
            out.append(item)
            if stop(item):
                return out
    raise AssertionError(f"no such message in {timeout_s} s; got {out}")


def test_a_replys_first_words_follow_the_thinking_video_soon_and_without_a_cut():
    from app.live import THINK_LEAD_S, WAIT_LEAD_S

    live = LiveSession(pipeline())
    got: queue.Queue = queue.Queue()
    connected = time.monotonic()
    live.connect(got.put)
    try:
        live.on_message({"type": "playing"})
        sink = live.turn_sink()                     # the turn begins: the stream shows it thinking
        wait_for(lambda: live.media_time(live.presence.frames_out) > WAIT_LEAD_S + 0.5)
        queued = time.monotonic()
        sink.put(speech())
        sent = messages_until(got, lambda m: m.get("state") == "speaking")
        # appended after what the page has (a splice would skip the words' start: app/live.py),
        # behind the short thinking lead, not the idle one
        assert not [m for m in sent if m["type"] == "cut"]
        lead = sent[-1]["t"] - (queued - connected)
        assert lead < WAIT_LEAD_S, (lead, THINK_LEAD_S)
        sink.put(speech())                          # queued while it speaks: no cut either
        sink.end()
        after = messages_until(got, lambda m: m.get("state") in ("idle", "listening", "thinking"))
        assert not [m for m in after if m["type"] == "cut"]
    finally:
        live.disconnect()


class CountingFlat(Flat):
    def __init__(self):
        self.drawn = 0

    def stream_frames(self, motion):
        self.drawn += motion.num_frames
        return super().stream_frames(motion)


def test_a_stream_that_fell_behind_draws_every_other_frame_and_keeps_every_frame_slot():
    renderer = CountingFlat()
    live = LiveSession(AvatarPipeline(tts=None, motion=TeacherMotionGenerator(), renderer=renderer))
    motion = MotionClip.still(4)
    assert len(live._frames(motion, behind=False)) == 4 and renderer.drawn == 4
    assert len(live._frames(motion, behind=True)) == 4 and renderer.drawn == 6  # 2 drawn, each shown twice
    assert live.cost.skipped == 2


def test_a_thinking_avatar_is_drawn_at_half_rate_in_every_frame_slot_without_counting_as_behind():
    renderer = CountingFlat()
    live = LiveSession(AvatarPipeline(tts=None, motion=TeacherMotionGenerator(), renderer=renderer))
    frames = live._frames(MotionClip.still(4), behind=False, thinking=True)
    assert len(frames) == 4 and renderer.drawn == 2 and frames[0] is frames[1]
    assert live.cost.skipped == 0


class SlowFlat(Flat):
    """Takes longer to draw a chunk than the stream allows (app.live.STALL_S), on the CPU."""

    def stream_frames(self, motion):
        from app.live import STALL_S

        end = time.thread_time() + STALL_S
        while time.thread_time() < end:
            pass
        return super().stream_frames(motion)


def test_a_chunk_that_takes_long_to_make_is_marked_with_its_cpu_time():
    live = LiveSession(AvatarPipeline(tts=None, motion=TeacherMotionGenerator(), renderer=SlowFlat()))
    live.connect(lambda item: None)
    try:
        wait_for(lambda: any(m["stage"] == "stream_stall" for m in list(live.trace)))
    finally:
        live.disconnect()
    stall = next(m for m in live.trace if m["stage"] == "stream_stall")
    assert stall["cpu_s"] >= 0.1 and stall["seconds"] >= stall["cpu_s"]  # worked, not only waited


def test_a_reconnected_page_gets_media_times_of_its_own_new_stream():
    live = LiveSession(pipeline())
    first: queue.Queue = queue.Queue()
    live.connect(first.put)
    wait_for(lambda: live.presence.frames_out >= 100)  # 4 s of stream for the first page
    live.disconnect()
    before = live.presence.frames_out
    again: queue.Queue = queue.Queue()
    live.connect(again.put)
    try:
        assert again.get(timeout=30)[4:8] == b"ftyp"
        live.on_message({"type": "playing"})
        live.turn_sink()  # the avatar thinks: a state event at the new stream's next frame
        event = next_message(again, "state")
        assert event["t"] < before / 25  # counted from the new stream's start, not the session's
    finally:
        live.disconnect()
