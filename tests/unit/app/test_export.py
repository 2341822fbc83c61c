"""Export's timeline: what each turn becomes (fake pipeline; the real one is in tests/integration)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from app.export import VOICE_TAIL_S, _pieces_for, listening_seconds, person_voice, to_transcript
from app.personas import get_persona
from app.settings import Settings
from avatar.motion.clip import MotionClip, Role
from avatar.pipeline import AvatarPipeline, Continuity, Segment, save_segment
from dialogue.turns import AvatarRole, Speaker, Turn, TurnMedia
from emotion import EmotionState


class StillMotion:
    """Records what it is asked; answers with still frames."""

    def __init__(self):
        self.requests = []

    def generate(self, request):
        self.requests.append(request)
        return MotionClip.still(int(round(request.duration_s * 25)), role=request.role)


class FlatRenderer:
    size = 32

    def stream_frames(self, motion):
        return (np.zeros((32, 32, 3), np.uint8) for _ in range(motion.num_frames))


class FakeComponents:
    def __init__(self):
        self.motion = StillMotion()

    def pipeline(self, persona):
        return AvatarPipeline(tts=None, motion=self.motion, renderer=FlatRenderer())

    @property
    def listened(self):
        return [(r.duration_s, r.speech) for r in self.motion.requests if r.role is Role.LISTENING]


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
    pipeline = FakeComponents()
    [piece] = _pieces_for(turn, get_persona("ada", None), pipeline, settings, tmp_path, True, Continuity())
    seconds, speech = pipeline.listened[0]
    assert speech is not None and speech.sample_rate == 44100 and len(speech.pcm) == 44100
    assert np.abs(speech.pcm - pcm).max() < 1e-3  # the motion generator hears the recording itself
    assert seconds == pytest.approx(1.0 + VOICE_TAIL_S) and piece.motion.duration == pytest.approx(seconds)
    assert piece.segment.video.is_file() and piece.segment.speech is speech  # the export plays the person's voice


def test_a_typed_turn_or_a_lost_voice_file_is_listened_to_in_silence(settings, tmp_path):
    pipeline = FakeComponents()
    persona = get_persona("ada", None)
    for turn in (user_turn(), user_turn(TurnMedia(audio="media/c/gone.wav"))):
        _pieces_for(turn, persona, pipeline, settings, tmp_path, True, Continuity())
    assert [(s, sp) for s, sp in pipeline.listened] == [(listening_seconds(user_turn().text), None)] * 2
    assert person_voice(user_turn(), settings) is None


def test_stored_segments_play_in_the_order_the_turn_names_them(settings, tmp_path):
    folder = tmp_path / "media/c/a"
    folder.mkdir(parents=True)
    for name, frames in (("001-0", 5), ("000-0", 25), ("000-1", 10)):
        save_segment(folder / f"{name}.npz", Segment(Role.SPEAKING, MotionClip.still(frames), EmotionState.neutral()))
        (folder / f"{name}.mp4").write_bytes(b"x")
    order = ("media/c/a/000-0.mp4", "media/c/a/000-1.mp4", "media/c/a/001-0.mp4")
    turn = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi.",
                media=TurnMedia(dir="media/c/a", segments=order))
    pieces = _pieces_for(turn, get_persona("ada", None), FakeComponents(), settings, tmp_path, True, Continuity())
    assert [p.motion.num_frames for p in pieces] == [25, 10, 5]
    assert [p.segment.video.name for p in pieces] == ["000-0.mp4", "000-1.mp4", "001-0.mp4"]


def test_segments_shown_on_the_live_stream_are_rendered_at_export(settings, tmp_path):
    folder = tmp_path / "media/c/b"
    folder.mkdir(parents=True)
    save_segment(folder / "000-0.npz", Segment(Role.SPEAKING, MotionClip.still(12), EmotionState.neutral(), text="Hi."))
    turn = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi.",
                media=TurnMedia(dir="media/c/b", segments=("media/c/b/000-0.mp4",)))  # kept as .npz only
    continuity = Continuity()
    [piece] = _pieces_for(turn, get_persona("ada", None), FakeComponents(), settings, tmp_path / "tmp", True, continuity)
    assert piece.segment.video.is_file() and piece.segment.video.parent != folder and piece.text == "Hi."
    assert continuity.tail.num_frames == 10


class RecordingTTS:
    """0.4 s of silence per sentence; records the emotion each sentence is said with."""

    def __init__(self):
        self.said = []

    def synthesize(self, text, voice, emotion):
        from avatar.voice.base import SpeechClip

        self.said.append((text, emotion))
        return SpeechClip(np.zeros(6400, np.float32), 16000, text=text)


class SpeakingComponents(FakeComponents):
    def __init__(self):
        super().__init__()
        self.tts = RecordingTTS()
        self.motion.generate = self._still

    def _still(self, request):
        from avatar.motion.teacher import num_frames_of

        self.motion.requests.append(request)
        return MotionClip.still(num_frames_of(request), role=request.role)

    def pipeline(self, persona):
        return AvatarPipeline(tts=self.tts, motion=self.motion, renderer=FlatRenderer())


def test_a_reply_without_media_is_rendered_sentence_by_sentence_with_its_arc(settings, tmp_path):
    from dialogue.turns import SentenceEmotion

    sad = EmotionState.of("sad", 0.6)
    arc = (SentenceEmotion(text="Oh no.", emotion=sad),
           SentenceEmotion(text="Do you want to talk about it?", emotion=sad.scaled(0.7)))
    turn = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Oh no. Do you want to talk about it?",
                emotion=sad, arc=arc)
    components = SpeakingComponents()
    pieces = _pieces_for(turn, get_persona("ada", None), components, settings, tmp_path, True, Continuity())
    said = [(e.text, e.emotion) for e in arc]
    assert components.tts.said == said                                              # the voice
    assert [r.emotion for r in components.motion.requests] == [e for _, e in said]  # the face
    assert [(p.text, p.segment.emotion) for p in pieces] == said
    [entry] = to_transcript(pieces, get_persona("ada", None), "c")["turns"]  # the JSON keeps the arc
    assert [(a["text"], a["emotion"]["label"], a["emotion"]["intensity"]) for a in entry["arc"]] == \
        [(t, e.label.value, e.intensity) for t, e in said]

    old = Turn.model_validate({k: v for k, v in turn.model_dump().items() if k != "arc"})  # saved before arcs
    components = SpeakingComponents()
    [piece] = _pieces_for(old, get_persona("ada", None), components, settings, tmp_path, True, Continuity())
    assert components.tts.said == [(old.text, sad)] and piece.segment.emotion == sad
