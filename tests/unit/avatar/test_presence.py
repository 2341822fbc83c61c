"""avatar/presence.py: the presence loop's states, queue, barge-in and seamless joins."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.motion.clip import MotionClip, Role
from avatar.motion.live import LiveListener
from avatar.pipeline import Segment
from avatar.presence import Presence, PresenceState
from avatar.voice.base import SpeechClip
from emotion import EmotionState
from emotion.profile import EmotionProfile

SR = 16000  # 640 samples a frame


def speaking(frames: int, level: float, yaw: float = 0.3) -> Segment:
    motion = MotionClip.still(frames, role=Role.SPEAKING)
    motion.pose[:, 0] = yaw
    return Segment(Role.SPEAKING, motion, EmotionState.of("happy"), SpeechClip(np.full(frames * 640, level, np.float32), SR),
                   text=f"level {level}")


@pytest.fixture
def presence():
    return Presence(LiveListener(EmotionProfile(name="t"), seed=3), sample_rate=SR)


def test_idle_forever_with_silence(presence):
    chunks = [presence.next_chunk(7) for _ in range(5)]
    assert [c.start_frame for c in chunks] == [0, 7, 14, 21, 28]
    assert all(c.motion.num_frames == 7 and len(c.pcm) == 7 * 640 and not c.pcm.any() for c in chunks)
    assert presence.state is PresenceState.IDLE


def test_queued_sentences_play_back_to_back_without_gaps(presence):
    presence.next_chunk(10)
    sink = presence.turn_sink()
    assert presence.state is PresenceState.THINKING
    sink.put(speaking(12, 0.25))
    sink.put(speaking(8, 0.5))
    presence.end_turn(sink.generation)
    chunk = presence.next_chunk(30)
    # 20 frames of speech, then silence: the two sentences join with no silent frame between them
    per_frame = chunk.pcm.reshape(30, 640)[:, 0]
    assert per_frame.tolist() == [0.25] * 12 + [0.5] * 8 + [0.0] * 10
    events = [(f, s) for f, s, _, _ in chunk.events]
    assert {turn for *_, turn in chunk.events} == {sink.generation}
    assert events == [(10, PresenceState.THINKING), (10, PresenceState.SPEAKING), (22, PresenceState.SPEAKING),
                      (30, PresenceState.IDLE)]
    assert presence.state is PresenceState.IDLE


def test_a_new_source_is_eased_in_from_the_last_frame(presence):
    last = presence.next_chunk(5).motion.pose[-1, 0]
    sink = presence.turn_sink()
    sink.put(speaking(20, 0.1, yaw=0.4))
    pose = presence.next_chunk(20).motion.pose[:, 0]
    assert abs(pose[0] - last) < abs(0.4 - last)  # no jump to the new pose at once
    assert pose[-1] == pytest.approx(0.4) and np.all(np.abs(np.diff(pose)) < 0.1)


def test_barge_in_flushes_and_cancels_the_turn(presence):
    sink = presence.turn_sink()
    for _ in range(3):
        sink.put(speaking(25, 0.5))
    presence.next_chunk(10)
    assert presence.state is PresenceState.SPEAKING and not sink.cancelled
    assert presence.barge_in() == 10
    assert presence.state is PresenceState.LISTENING
    assert sink.cancelled  # its maker can stop (app.conversation does)
    sink.put(speaking(25, 0.5))  # what the cancelled turn still puts: dropped
    assert len(sink.dropped) == 1
    assert len(sink.unheard()) == 2 + 1  # the two queued behind the one playing, and the one put after
    chunk = presence.next_chunk(25)
    assert not chunk.pcm.any()
    assert presence.state is PresenceState.LISTENING
    presence.listen(False)
    assert presence.state is PresenceState.IDLE
    assert not presence.turn_sink().cancelled  # the next turn's


def test_listening_motion_hears_the_partner(presence):
    ambient = presence.ambient
    t = np.arange(SR) / SR
    ambient.push_audio((0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), SR)
    ambient.set_partner_emotion(EmotionState.of("sad", 0.8))
    presence.listen(True)
    chunk = presence.next_chunk(25)
    assert presence.state is PresenceState.LISTENING and chunk.motion.num_frames == 25
    assert np.isfinite(chunk.motion.pose).all()


def test_a_new_turn_supersedes_the_reply_still_playing(presence):
    old = presence.turn_sink()
    old.put(speaking(50, 0.5))
    presence.next_chunk(10)
    new = presence.turn_sink()
    assert presence.state is PresenceState.THINKING and presence.queued == 0
    old.put(speaking(10, 0.5))
    new.put(speaking(10, 0.25))
    assert len(old.dropped) == 1
    assert presence.next_chunk(10).pcm.reshape(10, 640)[:, 0].tolist() == [0.25] * 10


def test_after_a_sad_reply_the_listening_face_keeps_its_mood():
    presence = Presence(LiveListener(EmotionProfile(name="t", mirroring=0.6), seed=3), sample_rate=SR)
    presence.set_partner_emotion(EmotionState.of("neutral", 0.4))
    presence.next_chunk(5)
    sink = presence.turn_sink()
    sad = speaking(10, 0.2)
    sink.put(Segment(Role.SPEAKING, sad.motion, EmotionState.of("sad", 0.7), sad.speech, text="so sorry"))
    presence.end_turn(sink.generation)
    after = presence.next_chunk(40).motion.expression[-10:]  # 10 frames of speech, then 30 listening
    from avatar.motion.clip import ARKIT_INDEX

    assert after[:, ARKIT_INDEX["mouthFrownLeft"]].mean() > 0.3   # the sad listener face, not a resting smile
    assert after[:, ARKIT_INDEX["mouthSmileLeft"]].max() < 0.05
