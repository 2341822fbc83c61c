"""Audio input for speech recognition: load any file, validate, mix to mono, resample to 16 kHz."""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from dialogue.asr.base import AudioError

_LOG = logging.getLogger(__name__)

ASR_RATE = 16000  # Hz: what Whisper expects
MIN_RATE = 4000  # below this the "audio" is not speech-band audio


def load_audio(path: str | Path, timeout_s: float = 30.0) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 samples (N,) or (N, channels) and its sample rate.

    soundfile reads WAV/FLAC/OGG-Vorbis/MP3; anything else (e.g. a browser's webm/opus) is decoded
    by the ffmpeg program to 16 kHz mono.

    Raises:
        AudioError: missing, empty or undecodable file.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"audio file not found: {p.name}")
    if p.stat().st_size == 0:
        raise AudioError(f"audio file is empty: {p.name}")
    try:
        pcm, sr = sf.read(str(p), dtype="float32", always_2d=False)
        return np.asarray(pcm, dtype=np.float32), int(sr)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        _LOG.debug("soundfile cannot read %s (%s); trying ffmpeg", p.name, exc)
    return _ffmpeg_decode(p, timeout_s), ASR_RATE


def _ffmpeg_decode(path: Path, timeout_s: float) -> np.ndarray:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError(f"cannot read {path.name}: unknown format and ffmpeg is not installed")
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(ASR_RATE), "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise AudioError(f"decoding {path.name} took more than {timeout_s:.0f} s") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"cannot decode audio file {path.name}: {detail[-1] if detail else 'unknown error'}")
    pcm = np.frombuffer(done.stdout[: len(done.stdout) // 4 * 4], dtype="<f4").astype(np.float32)
    if pcm.size == 0:
        raise AudioError(f"audio file {path.name} holds no audio samples")
    return pcm


def to_float32(pcm: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1], channels untouched: integer PCM (int8/16/32, uint8) is
    scaled by its full scale, float is kept as it is.

    Scale BEFORE mixing channels: averaging int16 channels gives float64 values of +-32768 that
    look like (wildly clipped) float audio, which Whisper hears as "Thank you."

    Raises:
        AudioError: samples that are not numbers (e.g. strings, complex).
    """
    x = np.asarray(pcm)
    if x.dtype.kind == "i":
        return (x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))).astype(np.float32)
    if x.dtype.kind == "u":
        half = float(2 ** (8 * x.dtype.itemsize - 1))
        return ((x.astype(np.float64) - half) / half).astype(np.float32)
    if x.dtype.kind == "f":
        return x.astype(np.float32, copy=False)
    if x.dtype.kind == "b":
        raise AudioError("audio samples must be numbers, got booleans")
    raise AudioError(f"audio samples must be numbers, got {x.dtype}")


def to_mono_16k(pcm: np.ndarray, sample_rate: int, max_duration_s: float | None = None) -> np.ndarray:
    """Validate audio and return it as (N,) float32 mono at 16 kHz: the one conversion every
    audio input (microphone, file, stream) goes through.

    `pcm` is (N,) or (N, channels), float in [-1, 1] or integer PCM (see `to_float32`). Channels
    are averaged after scaling.

    Raises:
        AudioError: empty audio, a sample rate below 4 kHz, NaN/inf samples, more than 8
            channels, or longer than `max_duration_s`.
    """
    x = to_float32(pcm)
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate < MIN_RATE:
        raise AudioError(f"unusable sample rate {sample_rate!r} Hz (need >= {MIN_RATE} Hz)")
    if x.ndim == 2:
        if x.shape[1] > 8:
            raise AudioError(f"audio has {x.shape[1]} channels; expected (samples, channels) with <= 8 channels")
        x = x.mean(axis=1)
    elif x.ndim != 1:
        raise AudioError(f"audio must be 1-D or (samples, channels), got shape {x.shape}")
    if x.size == 0:
        raise AudioError("audio is empty (no samples)")
    if not np.all(np.isfinite(x)):
        raise AudioError("audio contains NaN or infinite samples")
    duration = x.size / sample_rate
    if max_duration_s is not None and duration > max_duration_s:
        raise AudioError(f"audio is {duration:.0f} s long; the limit for one turn is {max_duration_s:.0f} s")
    if sample_rate != ASR_RATE:
        g = math.gcd(int(sample_rate), ASR_RATE)
        x = resample_poly(x, ASR_RATE // g, int(sample_rate) // g).astype(np.float32)
    return x


def read_recording(path: str | Path, max_duration_s: float | None = None) -> np.ndarray:
    """A recorded or uploaded audio file as (N,) float32 mono at 16 kHz (`load_audio` then
    `to_mono_16k`). Raises AudioError, with a message for people, for a missing, empty,
    undecodable or over-long file."""
    pcm, sr = load_audio(path)
    return to_mono_16k(pcm, sr, max_duration_s)


def clipped_fraction(pcm: np.ndarray, level: float = 0.999) -> float:
    """Share of samples at or beyond +-`level` of full scale."""
    return float(np.mean(np.abs(pcm) >= level)) if pcm.size else 0.0
