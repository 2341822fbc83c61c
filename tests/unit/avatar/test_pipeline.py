"""avatar/pipeline.py: the loop, continuity, parts, sinks and saved segments (fake TTS, the
procedural motion teacher, a flat-colour renderer; the real PyAV encoder on 32x32 frames)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from avatar.motion.clip import MotionClip, Role
from avatar.motion.generator import TeacherMotionGenerator
from avatar.pipeline import (AvatarPipeline, Continuity, Listen, Mp4File, Mp4Folder, Say, Segment, load_segment,
                             part_spans, resample, save_segment)
from avatar.voice.base import SpeechClip, TimedUnit
from emotion import EmotionState


class FakeTTS:
    """0.1 s of a 200 Hz tone per character, at 22.05 kHz, with one phoneme per character."""

    sample_rate = 22050

    def __init__(self):
        self.calls = []

    def synthesize(self, text, voice, emotion):
        self.calls.append((text, emotion))
        n = int(0.1 * len(text) * self.sample_rate)
        t = np.arange(n) / self.sample_rate
        phonemes = tuple(TimedUnit("a", 0.1 * i, 0.1 * (i + 1)) for i in range(len(text)))
        return SpeechClip((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), self.sample_rate, phonemes,
                          text=text)


class RecordingMotion:
    """The procedural teacher, recording the `previous` frames each request continued from."""

    def __init__(self):
        self.teacher = TeacherMotionGenerator()
        self.previous = []

    def generate(self, request):
        self.previous.append(request.previous)
        return self.teacher.generate(request)


class FlatRenderer:
    size = 32

    def stream_frames(self, motion):
        for i in range(motion.num_frames):
            yield np.full((32, 32, 3), int(255 * motion.expression[i].max()), np.uint8)


class ListSink:
    def __init__(self):
        self.got = []

    def put(self, segment):
        self.got.append(segment)
        return segment


@pytest.fixture
def pipeline():
    return AvatarPipeline(tts=FakeTTS(), motion=RecordingMotion(), renderer=FlatRenderer())


def test_the_loop_says_listens_and_carries_continuity(pipeline):
    happy = EmotionState.of("happy", 0.8)
    continuity = Continuity()
    sink = ListSink()
    out = list(pipeline.stream([Say("hello there", happy), Listen(1.2, EmotionState.of("sad", 0.5)),
                                Say("again", happy)], continuity, sink))
    assert out == sink.got and [s.role for s in out] == [Role.SPEAKING, Role.LISTENING, Role.SPEAKING]
    assert out[0].emotion == happy and out[0].text == "hello there"  # the emotion passes through unchanged
    assert out[0].duration == pytest.approx(1.1, abs=0.05) and out[1].duration == pytest.approx(1.2, abs=0.05)
    previous = pipeline.motion.previous
    assert previous[0] is None
    # each request continues from the last frames of the one before it
    np.testing.assert_array_equal(previous[1].pose, out[0].motion.pose[-10:])
    np.testing.assert_array_equal(previous[2].pose, out[1].motion.pose[-10:])
    np.testing.assert_array_equal(continuity.tail.pose, out[2].motion.pose[-10:])


def test_first_part_is_cut_off_with_its_audio(pipeline):
    out = list(pipeline.stream([Say("a longer sentence here", EmotionState.neutral(), first_part_s=1.0)],
                               Continuity(), ListSink()))
    assert [s.motion.num_frames for s in out][0] == 25 and len(out) == 2
    assert out[0].text and out[1].text == ""
    whole = sum(len(s.speech.pcm) for s in out)
    assert whole == len(pipeline.tts.synthesize("a longer sentence here", None, None).pcm)
    assert part_spans(30, 25, 1.0) == [(0, 30)]  # the rest would be shorter than the first part
    assert part_spans(60, 25, None) == [(0, 60)]


def test_empty_text_is_refused(pipeline):
    with pytest.raises(ValueError, match="empty"):
        list(pipeline.stream([Say("  ", EmotionState.neutral())], Continuity(), ListSink()))


def test_segment_audio_fits_its_frames_at_any_rate():
    speech = SpeechClip(np.ones(22050, np.float32), 22050)  # 1 s
    seg = Segment(Role.SPEAKING, MotionClip.still(30), EmotionState.neutral(), speech)  # 1.2 s
    pcm, sr = seg.pcm(16000)
    assert sr == 16000 and len(pcm) == 19200
    assert pcm[100:15000].min() > 0.9 and np.all(pcm[16100:] == 0)  # resampled, then padded with silence
    silent, _ = Segment(Role.LISTENING, MotionClip.still(25), EmotionState.neutral()).pcm(24000)
    assert len(silent) == 24000 and not silent.any()
    assert len(resample(np.zeros(441, np.float32), 44100, 16000)) == 160


def test_mp4_sinks_encode_and_keep_segments_for_export(pipeline, tmp_path):
    from avatar.video.encode import probe

    sad = EmotionState.of("sad", 0.6)
    folder = tmp_path / "turn"
    out = list(pipeline.stream([Say("one two three", sad, first_part_s=0.5)], Continuity(),
                               Mp4Folder(pipeline, folder, "000")))
    assert [s.video.name for s in out] == ["000-0.mp4", "000-1.mp4"]
    info = probe(out[1].video)
    assert info["frames"] == out[1].motion.num_frames and info["audio_s"] == pytest.approx(out[1].duration, abs=0.07)
    back = load_segment(folder / "000-0.npz")
    assert back.video == folder / "000-0.mp4" and back.emotion == sad and back.text == "one two three"
    np.testing.assert_array_equal(back.motion.expression, out[0].motion.expression)
    # no video: the .npz only, then handed on (a live stream)
    forward = ListSink()
    kept = list(pipeline.stream([Say("hi", sad)], Continuity(), Mp4Folder(pipeline, folder, "001", encode=False,
                                                                         forward=forward)))
    # the live stream got each segment first, before its file was written
    assert [replace(g, saved=k.saved) for g, k in zip(forward.got, kept)] == kept and forward.got[0].saved is None
    assert kept[0].video is None and not (folder / "001-0.mp4").exists() and kept[0].saved.is_file()
    assert load_segment(folder / "001-0.npz").video is None
    single = Mp4File(pipeline, tmp_path / "one.mp4")
    single.put(out[0])
    with pytest.raises(ValueError):
        single.put(out[1])


def test_saved_segment_roundtrip_without_speech(tmp_path):
    seg = Segment(Role.LISTENING, MotionClip.still(5), EmotionState.of("angry", 0.4), text="typed words")
    save_segment(tmp_path / "s.npz", seg)
    back = load_segment(tmp_path / "s.npz")
    assert back.speech is None and back.role is Role.LISTENING and back.text == "typed words"
    assert back.emotion == seg.emotion and back.video is None
