"""Export's timeline: what each turn becomes (fake pipeline; the real one is in tests/integration)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from app.export import VOICE_TAIL_S, _pieces_for, listening_seconds, person_voice
from app.media import RenderedSegment
from app.personas import get_persona
from app.settings import Settings
from avatar.motion.clip import MotionClip
from dialogue.turns import AvatarRole, Speaker, Turn, TurnMedia


class FakePipeline:
    def __init__(self):
        self.listened = []

    def listen(self, persona, duration_s, partner_emotion, out, partner_speech=None, continuity_key=None):
        self.listened.append((duration_s, partner_speech))
        return RenderedSegment(out, partner_speech, MotionClip.still(int(round(duration_s * 25))))


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path)


def user_turn(media=TurnMedia()):
    return Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="I went for a walk today.", media=media)


def test_a_spoken_turn_is_listened_to_with_the_persons_voice(settings, tmp_path):
    pcm = (0.2 * np.sin(np.arange(44100) / 7)).astype(np.float32)
    (tmp_path / "media/c/u").mkdir(parents=True)
    sf.write(tmp_path / "media/c/u/voice.wav", pcm, 44100, subtype="PCM_16")
    turn = user_turn(TurnMedia(dir="media/c/u", audio="media/c/u/voice.wav"))
    pipeline = FakePipeline()
    [piece] = _pieces_for(turn, get_persona("ada", None), pipeline, settings, tmp_path, True, "c")
    seconds, speech = pipeline.listened[0]
    assert speech is not None and speech.sample_rate == 44100 and len(speech.pcm) == 44100
    assert np.abs(speech.pcm - pcm).max() < 1e-3  # the motion generator hears the recording itself
    assert seconds == pytest.approx(1.0 + VOICE_TAIL_S) and piece.motion.duration == pytest.approx(seconds)


def test_a_typed_turn_or_a_lost_voice_file_is_listened_to_in_silence(settings, tmp_path):
    pipeline = FakePipeline()
    persona = get_persona("ada", None)
    for turn in (user_turn(), user_turn(TurnMedia(audio="media/c/gone.wav"))):
        _pieces_for(turn, persona, pipeline, settings, tmp_path, True, "c")
    assert [(s, sp) for s, sp in pipeline.listened] == [(listening_seconds(user_turn().text), None)] * 2
    assert person_voice(user_turn(), settings) is None


def test_stored_segments_play_in_the_order_the_turn_names_them(settings, tmp_path):
    from app.media import save_segment

    folder = tmp_path / "media/c/a"
    folder.mkdir(parents=True)
    for name, frames in (("001-0", 5), ("000-0", 25), ("000-1", 10)):
        save_segment(folder / f"{name}.npz", None, MotionClip.still(frames))
        (folder / f"{name}.mp4").write_bytes(b"x")
    order = ("media/c/a/000-0.mp4", "media/c/a/000-1.mp4", "media/c/a/001-0.mp4")
    turn = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi.",
                media=TurnMedia(dir="media/c/a", segments=order))
    pieces = _pieces_for(turn, get_persona("ada", None), FakePipeline(), settings, tmp_path, True, "c")
    assert [p.motion.num_frames for p in pieces] == [25, 10, 5]
    assert [p.video.name for p in pieces] == ["000-0.mp4", "000-1.mp4", "001-0.mp4"]
