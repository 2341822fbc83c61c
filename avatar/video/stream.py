"""Encode a reply as short, self-contained MP4 segments so playback starts before it is all rendered."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator

import numpy as np

from avatar.video.encode import encode_mp4

log = logging.getLogger(__name__)


def segment_audio(audio: np.ndarray, sr: int, fps: int, start_frame: int, num_frames: int) -> np.ndarray:
    """The samples of frames [start, start + num) exactly: round(frame * sr / fps) boundaries,
    zero-padded past the end of `audio`. Consecutive segments tile the track with no drift."""
    a = int(round(start_frame * sr / fps))
    b = int(round((start_frame + num_frames) * sr / fps))
    out = np.zeros(b - a, np.float32)
    chunk = np.asarray(audio, np.float32)[a:b]
    out[:len(chunk)] = chunk
    return out


def stream_segments(frames: Iterable[np.ndarray], audio: np.ndarray | None, sr: int, fps: int = 25,
                    segment_s: float = 1.0) -> Iterator[bytes]:
    """Yield fragmented-MP4 bytes, one per `segment_s` of video (the last may be shorter).

    Frames are pulled lazily from `frames` (rendering happens inside this loop: each segment costs
    its render time plus ~10-20 ms of encoding). Audio is cut sample-exactly at frame boundaries;
    audio longer than the frames is dropped, shorter is padded with silence.
    """
    per = max(1, int(round(segment_s * fps)))
    audio = np.zeros(0, np.float32) if audio is None else audio
    batch: list[np.ndarray] = []
    start = 0
    for frame in frames:
        batch.append(frame)
        if len(batch) == per:
            yield _encode(batch, audio, sr, fps, start)
            start += len(batch)
            batch = []
    if batch:
        yield _encode(batch, audio, sr, fps, start)


def _encode(batch, audio, sr, fps, start) -> bytes:
    buf = io.BytesIO()
    pcm = segment_audio(audio, sr, fps, start, len(batch)) if len(audio) else None
    encode_mp4(batch, buf, fps=fps, audio=pcm, sample_rate=sr)
    log.debug("segment at frame %d: %d frames, %d bytes", start, len(batch), buf.tell())
    return buf.getvalue()
