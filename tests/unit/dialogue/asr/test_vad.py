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
        events += [(e.kind, e.t_s) for e in det.push(x[i : i + chunk])]
    return events


def test_start_and_end_of_an_utterance_after_the_hangover():
    x = np.concatenate([noise(1.0), voice(1.5), noise(1.0)])
    events = feed(EndOfSpeechDetector(SR, hangover_s=0.6), x)
    assert [k for k, _ in events] == ["start", "end"]
    assert events[0][1] == pytest.approx(1.0, abs=0.05)
    assert events[1][1] == pytest.approx(2.5, abs=0.05)


def test_short_pause_does_not_end_the_utterance_and_end_waits_for_hangover():
    x = np.concatenate([noise(0.5), voice(0.8), noise(0.3), voice(0.8), noise(0.5)])
    events = feed(EndOfSpeechDetector(SR, hangover_s=0.6), x)
    assert [k for k, _ in events] == ["start"]  # 0.5 s of trailing silence < hangover
    det = EndOfSpeechDetector(SR, hangover_s=0.6)
    feed(det, x)
    assert [e.kind for e in det.flush()] == ["end"]


def test_chunk_size_does_not_matter():
    x = np.concatenate([noise(0.7), voice(1.0), noise(1.0)])
    a = feed(EndOfSpeechDetector(SR), x, chunk=160)
    b = feed(EndOfSpeechDetector(SR), x, chunk=4096)
    assert a == b and len(a) == 2


def test_adapts_to_steady_loud_noise_and_ignores_clicks():
    x = np.concatenate([noise(2.0, level=0.03), voice(1.0, amp=0.6) + noise(1.0, level=0.03), noise(1.5, level=0.03)])
    x[SR // 2 : SR // 2 + 80] += 0.8  # a 5 ms click: too short to be speech
    events = feed(EndOfSpeechDetector(SR), x)
    assert [k for k, _ in events] == ["start", "end"]
    assert events[0][1] == pytest.approx(2.0, abs=0.08)


def test_silence_gives_no_events():
    assert feed(EndOfSpeechDetector(SR), np.zeros(SR * 2, np.float32)) == []


# --- StreamingVAD (Silero's hysteresis and end-of-turn rule), driven by a fake frame classifier ---

from dialogue.asr.vad import StreamingVAD, VadEvent, make_streaming_vad  # noqa: E402


class LoudnessScorer:
    """Fake Silero: probability 0.9 for a loud window, 0.05 for a quiet one; records resets."""

    window = 512

    def __init__(self):
        self.resets = 0

    def __call__(self, frame):
        assert frame.shape == (self.window,) and frame.dtype == np.float32
        return 0.9 if np.sqrt(np.mean(frame**2)) > 0.05 else 0.05

    def reset(self):
        self.resets += 1


def vad(**kw):
    return StreamingVAD(SR, scorer=LoudnessScorer(), **kw)


def feed_vad(v, x, chunk=480):
    out = []
    for i in range(0, len(x), chunk):
        out += v.feed(x[i:i + chunk])
    return out


def test_streaming_vad_reports_start_and_end_of_turn_in_stream_seconds():
    x = np.concatenate([noise(1.0), voice(1.5), noise(1.0)])
    events = feed_vad(vad(end_silence_s=0.6), x)
    assert [e.kind for e in events] == ["start", "end"]
    assert all(isinstance(e, VadEvent) for e in events)
    assert events[0].t_s == pytest.approx(1.0, abs=0.07)
    assert events[1].t_s == pytest.approx(2.5, abs=0.07)


def test_streaming_vad_end_waits_for_the_configured_silence():
    x = np.concatenate([noise(0.5), voice(0.8), noise(0.4), voice(0.8), noise(0.5)])
    assert [e.kind for e in feed_vad(vad(end_silence_s=0.6), x)] == ["start"]  # 0.4 s gap, 0.5 s tail
    short = feed_vad(vad(end_silence_s=0.3), x)
    assert [e.kind for e in short] == ["start", "end", "start", "end"]


def test_streaming_vad_chunk_size_and_dtype_do_not_matter():
    x = np.concatenate([noise(0.7), voice(1.0), noise(1.0)])
    a = feed_vad(vad(), x, chunk=100)
    b = feed_vad(vad(), x, chunk=8000)
    c = feed_vad(vad(), (x * 32767).astype(np.int16), chunk=333)
    assert a == b == c and len(a) == 2


def test_streaming_vad_ignores_a_click_shorter_than_min_speech():
    x = noise(2.0)
    x[SR // 2:SR // 2 + 600] += 0.5  # one loud 37 ms burst: about one window
    assert feed_vad(vad(min_speech_s=0.1), x) == []


def test_streaming_vad_flush_closes_and_reset_restarts_the_clock():
    v = vad()
    feed_vad(v, np.concatenate([noise(0.3), voice(0.5)]))
    assert v.in_speech
    assert [e.kind for e in v.flush()] == ["end"]
    v.reset()
    assert v.scorer.resets == 2 and v.time_s == 0.0 and not v.in_speech
    events = feed_vad(v, np.concatenate([noise(0.2), voice(0.5)]))
    assert events[0].kind == "start" and events[0].t_s == pytest.approx(0.2, abs=0.07)


def test_streaming_vad_rejects_bad_settings():
    with pytest.raises(ValueError):
        vad(threshold=1.5)
    with pytest.raises(ValueError):
        vad(end_silence_s=0)


def test_make_streaming_vad_energy_fallback_has_the_same_interface():
    det = make_streaming_vad(SR, end_silence_s=0.6, backend="energy")
    assert isinstance(det, EndOfSpeechDetector)
    events = feed_vad(det, np.concatenate([noise(1.0), voice(1.5), noise(1.0)]))
    assert [e.kind for e in events] == ["start", "end"]
    with pytest.raises(ValueError):
        make_streaming_vad(backend="nope")
