import numpy as np
import pytest

from dialogue.asr.vad import EndOfSpeechDetector

SR = 16000
rng = np.random.default_rng(0)


def noise(seconds, level=0.003):
    return (rng.standard_normal(int(seconds * SR)) * level).astype(np.float32)


def voice(seconds, amp=0.2):
    t = np.arange(int(seconds * SR)) / SR
    syllables = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)  # 4 Hz syllable rhythm
    return (amp * syllables * np.sin(2 * np.pi * 140 * t)).astype(np.float32) + noise(seconds)


def feed(det, x, chunk=320):
    events = []
    for i in range(0, len(x), chunk):
        events += [(e.kind, e.time) for e in det.push(x[i : i + chunk])]
    return events


def test_start_and_end_of_an_utterance_after_the_hangover():
    x = np.concatenate([noise(1.0), voice(1.5), noise(1.0)])
    events = feed(EndOfSpeechDetector(SR, hangover_s=0.6), x)
    assert [k for k, _ in events] == ["speech_start", "speech_end"]
    assert events[0][1] == pytest.approx(1.0, abs=0.05)
    assert events[1][1] == pytest.approx(2.5, abs=0.05)


def test_short_pause_does_not_end_the_utterance_and_end_waits_for_hangover():
    x = np.concatenate([noise(0.5), voice(0.8), noise(0.3), voice(0.8), noise(0.5)])
    events = feed(EndOfSpeechDetector(SR, hangover_s=0.6), x)
    assert [k for k, _ in events] == ["speech_start"]  # 0.5 s of trailing silence < hangover
    det = EndOfSpeechDetector(SR, hangover_s=0.6)
    feed(det, x)
    assert [e.kind for e in det.flush()] == ["speech_end"]


def test_chunk_size_does_not_matter():
    x = np.concatenate([noise(0.7), voice(1.0), noise(1.0)])
    a = feed(EndOfSpeechDetector(SR), x, chunk=160)
    b = feed(EndOfSpeechDetector(SR), x, chunk=4096)
    assert a == b and len(a) == 2


def test_adapts_to_steady_loud_noise_and_ignores_clicks():
    x = np.concatenate([noise(2.0, level=0.03), voice(1.0, amp=0.6) + noise(1.0, level=0.03), noise(1.5, level=0.03)])
    x[SR // 2 : SR // 2 + 80] += 0.8  # a 5 ms click: too short to be speech
    events = feed(EndOfSpeechDetector(SR), x)
    assert [k for k, _ in events] == ["speech_start", "speech_end"]
    assert events[0][1] == pytest.approx(2.0, abs=0.08)


def test_silence_gives_no_events():
    assert feed(EndOfSpeechDetector(SR), np.zeros(SR * 2, np.float32)) == []
