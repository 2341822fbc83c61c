"""Audio features aligned to motion frames: log-mel spectrogram and RMS energy at 25 fps."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import resample_poly

from avatar.motion.clip import FPS

FEATURE_RATE = 16000  # every input is resampled to this rate first
N_FFT = 1024
N_MELS = 40


def resample(pcm: np.ndarray, sample_rate: int, target: int = FEATURE_RATE) -> np.ndarray:
    """(N,) float32 mono at `target` Hz. Raises ValueError for a non-positive rate or non-mono input."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    x = np.asarray(pcm, np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono (N,), got shape {x.shape}")
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    if sample_rate == target:
        return x
    g = math.gcd(int(sample_rate), target)
    return resample_poly(x, target // g, int(sample_rate) // g).astype(np.float32)


def _mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sr: int = FEATURE_RATE) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular HTK-mel filters, 60 Hz .. 7.6 kHz."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(60.0), hz_to_mel(7600.0), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fb = np.zeros((n_mels, len(bins)), np.float32)
    for i in range(n_mels):
        lo, mid, hi = hz[i], hz[i + 1], hz[i + 2]
        fb[i] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0, None)
    return fb


_FB = _mel_filterbank()


def _frames(x: np.ndarray, num_frames: int, win: int, fps: int) -> np.ndarray:
    """(T, win) windows centred on each motion frame's centre ((t + 0.5) / fps)."""
    hop = FEATURE_RATE / fps
    centres = ((np.arange(num_frames) + 0.5) * hop).astype(np.int64)
    padded = np.pad(x, (win // 2, win // 2 + 1))
    idx = centres[:, None] + np.arange(win)[None, :]
    return padded[np.clip(idx, 0, len(padded) - 1)]


def log_mel(pcm: np.ndarray, sample_rate: int, num_frames: int, fps: int = FPS) -> np.ndarray:
    """(T, N_MELS) float32 natural-log mel energies, one row per motion frame."""
    x = resample(pcm, sample_rate)
    fr = _frames(x, num_frames, N_FFT, fps) * np.hanning(N_FFT).astype(np.float32)
    power = np.abs(np.fft.rfft(fr, axis=1)) ** 2
    return np.log(power @ _FB.T + 1e-6).astype(np.float32)


def rms_energy(pcm: np.ndarray, sample_rate: int, num_frames: int, fps: int = FPS,
               window_s: float = 0.05) -> np.ndarray:
    """(T,) float32 RMS of a `window_s` window centred on each motion frame."""
    x = resample(pcm, sample_rate)
    win = int(window_s * FEATURE_RATE)
    return np.sqrt((_frames(x, num_frames, win, fps) ** 2).mean(axis=1)).astype(np.float32)


def speech_activity(energy: np.ndarray, threshold_db: float = -30.0) -> np.ndarray:
    """(T,) bool: frames within `threshold_db` of the clip's 95th-percentile energy."""
    if energy.size == 0:
        return np.zeros(0, bool)
    ref = float(np.percentile(energy, 95))
    if ref < 1e-4:  # digital silence or near it
        return np.zeros(energy.shape, bool)
    return 20 * np.log10(np.maximum(energy, 1e-8) / ref) > threshold_db


def find_pauses(words: tuple, energy: np.ndarray | None, duration_s: float, min_pause_s: float = 0.25,
                fps: int = FPS) -> list[tuple[float, float]]:
    """Pauses (start_s, end_s) of at least `min_pause_s` inside speech and after its last word.

    Uses word timings when there are any (TimedUnit-like with .start/.end), else energy activity.
    The leading silence before the first word is not a pause.
    """
    if words:
        spans = [(w.start, w.end) for w in words]
    elif energy is not None and energy.size:
        act = speech_activity(energy)
        spans, start = [], None
        for i, a in enumerate(np.append(act, False)):
            if a and start is None:
                start = i
            elif not a and start is not None:
                spans.append((start / fps, i / fps))
                start = None
    else:
        return []
    pauses = [(a_end, b_start) for (_, a_end), (b_start, _) in zip(spans, spans[1:])
              if b_start - a_end >= min_pause_s]
    if spans and duration_s - spans[-1][1] >= min_pause_s:
        pauses.append((spans[-1][1], duration_s))
    return pauses
