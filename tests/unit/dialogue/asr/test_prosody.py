import numpy as np
import pytest

from dialogue.asr.prosody import analyze, find_pauses, frame_energy, mean_pitch, pitch_contour

SR = 16000


def harmonic(f0, seconds, sr=SR, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * (np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(4 * np.pi * f0 * t) + 0.25 * np.sin(6 * np.pi * f0 * t))).astype(np.float32)


@pytest.mark.parametrize("f0", [85.0, 120.0, 210.0, 330.0])
def test_pitch_of_a_harmonic_tone(f0):
    p = pitch_contour(harmonic(f0, 0.5), SR)
    assert mean_pitch(p) == pytest.approx(f0, rel=0.02)
    assert np.mean(p[5:-5] > 0) > 0.9


def test_pitch_is_zero_for_silence_and_noise():
    assert np.all(pitch_contour(np.zeros(SR, np.float32), SR) == 0)
    noise = np.random.default_rng(1).standard_normal(SR).astype(np.float32) * 0.3
    assert np.mean(pitch_contour(noise, SR) > 0) < 0.2


def test_energy_hop_and_level():
    x = harmonic(150, 1.0)
    e = frame_energy(x, SR)
    assert len(e) == 100  # 10 ms hop
    p = analyze(x, SR)
    assert len(p.energy) == len(p.pitch_hz) == 100 and p.hop_s == 0.01


def test_pauses_of_300_ms_or_more_inside_speech():
    gap = lambda s: np.zeros(int(s * SR), np.float32)
    x = np.concatenate([gap(0.5), harmonic(150, 0.5), gap(0.4), harmonic(150, 0.5), gap(0.2), harmonic(150, 0.5), gap(0.5)])
    pauses = find_pauses(frame_energy(x, SR))
    assert len(pauses) == 1  # the 200 ms gap and the leading/trailing silence are not pauses
    a, b = pauses[0]
    assert a == pytest.approx(1.0, abs=0.03) and b == pytest.approx(1.4, abs=0.03)
