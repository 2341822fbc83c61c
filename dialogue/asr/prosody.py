"""Prosody of speech, pure numpy: frame energy, pitch contour (YIN) and pauses.

The listening avatar reacts to these (nods at pauses, brows with pitch). 10 ms hop.
"""

from __future__ import annotations

import numpy as np

from dialogue.asr.base import Prosody

HOP_S = 0.010
MIN_PAUSE_S = 0.300


def _frames(pcm: np.ndarray, sample_rate: int, win: int, hop: int) -> np.ndarray:
    """(F, win) frames centred every `hop` samples (zero padded at both ends)."""
    x = np.pad(np.asarray(pcm, dtype=np.float64), (win // 2, win))
    n = max(int(len(pcm) // hop), 1)
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    return x[idx]


def frame_energy(pcm: np.ndarray, sample_rate: int, hop_s: float = HOP_S, win_s: float = 0.025) -> np.ndarray:
    """(F,) RMS energy of `win_s` windows every `hop_s`, float32 (F = len / hop)."""
    hop = max(int(round(hop_s * sample_rate)), 1)
    win = max(int(round(win_s * sample_rate)), 1)
    if len(pcm) == 0:
        return np.zeros(0, np.float32)
    return np.sqrt(np.mean(_frames(pcm, sample_rate, win, hop) ** 2, axis=1)).astype(np.float32)


def pitch_contour(
    pcm: np.ndarray,
    sample_rate: int,
    hop_s: float = HOP_S,
    fmin: float = 60.0,
    fmax: float = 400.0,
    threshold: float = 0.15,
    silence_db: float = -35.0,
) -> np.ndarray:
    """(F,) pitch in Hz every `hop_s` (0 = unvoiced), by YIN (de Cheveigné & Kawahara 2002).

    Per 2/fmin-long frame: the difference function d(tau) over the overlapping part, its
    cumulative-mean normalisation, the first dip below `threshold` (refined by parabolic
    interpolation). Frames quieter than `silence_db` below the loudest frames are unvoiced.
    """
    hop = max(int(round(hop_s * sample_rate)), 1)
    if len(pcm) == 0:
        return np.zeros(0, np.float32)
    tau_min = max(int(sample_rate / fmax), 2)
    tau_max = int(sample_rate / fmin)
    win = 2 * tau_max
    fr = _frames(pcm, sample_rate, win, hop)  # (F, W)
    fr = fr - fr.mean(axis=1, keepdims=True)
    n_fft = 1 << int(np.ceil(np.log2(2 * win)))
    spec = np.fft.rfft(fr, n_fft, axis=1)
    r = np.fft.irfft(spec * np.conj(spec), n_fft, axis=1)[:, : tau_max + 1]  # (F, T) autocorrelation
    cs = np.concatenate([np.zeros((fr.shape[0], 1)), np.cumsum(fr**2, axis=1)], axis=1)  # (F, W+1)
    taus = np.arange(tau_max + 1)
    head = cs[:, win - taus]  # sum of x[0 : W - tau]^2
    tail = cs[:, win:win + 1] - cs[:, taus]  # sum of x[tau : W]^2
    d = head + tail - 2 * r
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1) / np.arange(1, tau_max + 1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] / np.maximum(cum, 1e-12)

    energy = np.sqrt(np.mean(fr**2, axis=1))
    ref = np.percentile(energy, 95) if energy.size else 0.0
    loud = energy >= ref * 10 ** (silence_db / 20) if ref > 0 else np.zeros_like(energy, bool)
    f0 = np.zeros(fr.shape[0], np.float32)
    below = cmnd[:, tau_min:tau_max] < threshold
    for i in np.flatnonzero(loud & below.any(axis=1)):
        t = tau_min + int(np.argmax(below[i]))
        while t + 1 < tau_max and cmnd[i, t + 1] < cmnd[i, t]:  # walk down to the dip's bottom
            t += 1
        a, b, c = cmnd[i, t - 1], cmnd[i, t], cmnd[i, min(t + 1, tau_max)]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if abs(den) > 1e-12 else 0.0
        f0[i] = sample_rate / (t + float(np.clip(shift, -1, 1)))
    return f0


def speech_threshold(energy: np.ndarray) -> float:
    """Energy above which a frame counts as speech: 15 % of the way from the noise floor
    (10th percentile) to the speech level (95th percentile), at least 1e-4."""
    if energy.size == 0:
        return 1e-4
    floor, level = np.percentile(energy, [10, 95])
    return float(max(floor + 0.15 * (level - floor), 1e-4))


def find_pauses(energy: np.ndarray, hop_s: float = HOP_S, min_pause_s: float = MIN_PAUSE_S) -> list[tuple[float, float]]:
    """(start, end) seconds of quiet runs >= `min_pause_s` between the first and last speech
    frames (leading and trailing silence are not pauses)."""
    speech = energy > speech_threshold(energy)
    idx = np.flatnonzero(speech)
    if idx.size < 2:
        return []
    pauses = []
    gaps = np.flatnonzero(np.diff(idx) > 1)
    for g in gaps:
        a, b = idx[g] + 1, idx[g + 1]
        if (b - a) * hop_s >= min_pause_s:
            pauses.append((float(a * hop_s), float(b * hop_s)))
    return pauses


def analyze(pcm: np.ndarray, sample_rate: int, hop_s: float = HOP_S) -> Prosody:
    """Energy and pitch of `pcm` at `hop_s` spacing (same number of frames)."""
    energy = frame_energy(pcm, sample_rate, hop_s)
    pitch = pitch_contour(pcm, sample_rate, hop_s)
    n = min(len(energy), len(pitch))
    return Prosody(hop_s=hop_s, energy=energy[:n], pitch_hz=pitch[:n])


def mean_pitch(pitch_hz: np.ndarray) -> float:
    """Median of the voiced frames' pitch (Hz); 0.0 when nothing is voiced."""
    voiced = pitch_hz[pitch_hz > 0]
    return float(np.median(voiced)) if voiced.size else 0.0
