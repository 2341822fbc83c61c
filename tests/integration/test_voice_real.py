"""Real engines: the piper worker (joe-us voice), espeak-ng and Whisper tiny.en."""

import os
import re
import signal
from pathlib import Path

import numpy as np
import pytest

from avatar.settings import TTSSettings
from avatar.voice import VoiceSettings, make_tts
from avatar.voice.text import words_of
from avatar.voice.timing import speech_regions
from bench.wer import wer
from dialogue.asr import load_audio, to_mono_16k
from dialogue.asr.prosody import analyze, mean_pitch
from dialogue.asr.whisper import WhisperASR
from dialogue.settings import ASRSettings
from emotion import EmotionState

pytestmark = pytest.mark.integration

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
SENTENCES = [
    "The weather was lovely this morning, so we walked to the market.",
    "Could you remind me to call my sister tomorrow afternoon?",
    "I am sorry to hear that your cat is sick.",
]
NEUTRAL = EmotionState.neutral()


@pytest.fixture(scope="module")
def piper():
    tts = make_tts("piper", TTSSettings())
    tts.start()
    yield tts
    tts.close()


@pytest.fixture(scope="module")
def espeak():
    return make_tts("espeak", TTSSettings())


@pytest.fixture(scope="module")
def asr():
    model = WhisperASR(ASRSettings())
    model.load()
    return model


def check_timings(clip, text):
    ph, words = clip.phonemes, clip.words
    assert ph and all(p.start <= p.end for p in ph)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(ph, ph[1:])), "phonemes overlap or go back in time"
    assert [w.symbol for w in words] == words_of(text)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(words, words[1:]))
    assert clip.duration - ph[-1].end <= 0.1  # the last phoneme ends at the end of the audio
    onset = speech_regions(clip.pcm, clip.sample_rate, threshold_db=-30)[0][0]
    assert abs(ph[0].start - onset) <= 0.1  # the first phoneme starts at the speech onset


def pitch_and_duration(clip):
    x = to_mono_16k(clip.pcm, clip.sample_rate)
    return mean_pitch(analyze(x, 16000).pitch_hz), clip.duration


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_timings_are_monotonic_and_cover_the_audio(engine, request):
    tts = request.getfixturevalue(engine)
    for text in SENTENCES:
        check_timings(tts.synthesize(text, VoiceSettings(backend=engine), NEUTRAL), text)


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_emotion_changes_duration_and_pitch(engine, request):
    tts = request.getfixturevalue(engine)
    text = SENTENCES[0]
    sad = tts.synthesize(text, VoiceSettings(backend=engine), EmotionState.of("sad", 1.0))
    happy = tts.synthesize(text, VoiceSettings(backend=engine), EmotionState.of("happy", 1.0))
    (f_sad, d_sad), (f_happy, d_happy) = pitch_and_duration(sad), pitch_and_duration(happy)
    assert d_sad > 1.15 * d_happy, (d_sad, d_happy)
    assert f_happy > 1.08 * f_sad, (f_sad, f_happy)
    assert np.sqrt(np.mean(sad.pcm**2)) < np.sqrt(np.mean(happy.pcm**2))
    check_timings(sad, text)
    check_timings(happy, text)


def test_long_text_is_split_never_truncated(piper):
    text = " ".join(SENTENCES) + " " + ", ".join(["and then we walked along the quiet river"] * 8) + "."
    clips = list(piper.stream_synthesize(text, VoiceSettings(), NEUTRAL))
    assert len(clips) >= 5
    assert [w.symbol for c in clips for w in c.words] == words_of(text)


def test_killed_worker_is_restarted(piper):
    piper.synthesize("Hello.", VoiceSettings(), NEUTRAL)
    os.kill(piper._worker.proc.pid, signal.SIGKILL)
    piper._worker.proc.wait(timeout=5)
    clip = piper.synthesize("Still here.", VoiceSettings(), NEUTRAL)
    assert clip.duration > 0.3


def test_whisper_on_real_speech(asr):
    refs = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        m = re.match(r"<s> (.*) </s> \((.*)\)", line)
        refs[m.group(2)] = m.group(1)
    hyps, texts = [], []
    for name in ["sense_and_sensibility_01_austen_64kb-0880", "sense_and_sensibility_01_austen_64kb-0930"]:
        pcm, sr = load_audio(LIBRIVOX / f"{name}.wav")
        tr = asr.transcribe(pcm, sr)
        assert tr.words and all(a.start <= b.start for a, b in zip(tr.words, tr.words[1:]))
        assert tr.words[-1].end <= tr.duration + 0.05
        assert tr.prosody.energy.size == pytest.approx(tr.duration * 100, abs=2)
        assert 70 < mean_pitch(tr.prosody.pitch_hz) < 250
        hyps.append(tr.text)
        texts.append(refs[name])
    assert wer(texts, hyps) < 0.3


def test_round_trip_piper_to_whisper(piper, asr):
    clip = piper.synthesize(SENTENCES[1], VoiceSettings(), NEUTRAL)
    tr = asr.transcribe(clip.pcm, clip.sample_rate)
    assert wer([SENTENCES[1]], [tr.text]) <= 0.1, tr.text


def test_a_seeded_piper_worker_speaks_the_same_every_run():
    """TTSSettings.piper_seed seeds the model's noise: two workers with one seed give the same
    audio for the same requests; piper's own random noise gives other audio."""
    def speak(seed):
        tts = make_tts("piper", TTSSettings(piper_seed=seed))
        try:
            return [tts.synthesize(t, VoiceSettings(), NEUTRAL).pcm for t in ("Hello there.", "How are you?")]
        finally:
            tts.close()

    a, b, free = speak(3), speak(3), speak(None)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert any(len(x) != len(z) or not np.array_equal(x, z) for x, z in zip(a, free))


def test_whisper_encodes_a_short_window_for_short_speech_and_the_whole_one_on_request(asr):
    """A 3 s utterance is encoded in the 15-s window (encoder_window_s), not Whisper's 30 s, and
    still transcribed right; encoder_window_s 30 gives the model's own window."""
    name = "sense_and_sensibility_01_austen_64kb-0880"  # "he was not an ill disposed young man", 3 s
    pcm, sr = load_audio(LIBRIVOX / f"{name}.wav")
    tr = asr.transcribe(pcm, sr)
    assert asr._model.frames == 1500
    assert wer(["he was not an ill disposed young man"], [tr.text]) <= 0.3, tr.text
    whole = WhisperASR(ASRSettings(encoder_window_s=30.0), model_factory=lambda _s: asr._model)
    assert wer([tr.text], [whole.transcribe(pcm, sr).text]) <= 0.3
    assert asr._model.frames == 3000
