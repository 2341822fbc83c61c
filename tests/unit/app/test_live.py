"""app/live.py: a page's live session — the stream thread, turn sinks, the microphone's barge-in
and transcription (fake VAD and ASR; the procedural teacher; a flat 32 px renderer; real encoder)."""

from __future__ import annotations

import queue

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
