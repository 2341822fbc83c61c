"""Frames + audio -> H.264/AAC MP4 (yuv420p, faststart) with PyAV."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

AAC_FRAME = 1024  # samples per AAC frame


def _audio_frames(av, pcm: np.ndarray, sr: int):
    pcm = np.clip(np.asarray(pcm, np.float32).reshape(-1), -1.0, 1.0)
    for start in range(0, len(pcm), AAC_FRAME):
        chunk = pcm[start:start + AAC_FRAME]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        yield frame


def encode_mp4(frames: Iterable[np.ndarray], out: str | Path | io.BytesIO, fps: int = 25,
               audio: np.ndarray | None = None, sample_rate: int = 16000, crf: int = 23,
               preset: str = "veryfast") -> int:
    """Encode (H, W, 3) uint8 RGB `frames` (+ optional mono float32 `audio`) to an MP4.

    `out` is a path or a BytesIO. H, W must be even. Returns the number of video frames written.
    Files get the moov atom first (faststart); BytesIO output is a fragmented MP4. Both play in
    browsers while downloading.
    """
    import av  # heavy: imported where used

    in_memory = isinstance(out, io.BytesIO)
    target = out if in_memory else str(out)
    # faststart rewrites the file (needs a real path); in memory, a fragmented MP4 plays as it arrives
    flags = "frag_keyframe+empty_moov+default_base_moof" if in_memory else "+faststart"
    n = 0
    with av.open(target, mode="w", format="mp4", options={"movflags": flags}) as container:
        vs = None
        aud = None
        if audio is not None and len(audio):
            aud = container.add_stream("aac", rate=int(sample_rate))
            aud.layout = "mono"
            aud.bit_rate = 96000
        for image in frames:
            if vs is None:
                h, w = image.shape[:2]
                if h % 2 or w % 2:
                    raise ValueError(f"frame size must be even for yuv420p, got {w}x{h}")
                vs = container.add_stream("libx264", rate=fps)
                vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
                vs.options = {"crf": str(crf), "preset": preset}
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            vf.pts = n
            for packet in vs.encode(vf):
                container.mux(packet)
            n += 1
        if vs is None:
            raise ValueError("no frames to encode")
        for packet in vs.encode():
            container.mux(packet)
        if aud is not None:
            for af in _audio_frames(av, audio, int(sample_rate)):
                for packet in aud.encode(af):
                    container.mux(packet)
            for packet in aud.encode():
                container.mux(packet)
    return n


def probe(path: str | Path | bytes) -> dict:
    """Decode an MP4 fully: {'frames': int, 'fps': float, 'video_s': float, 'audio_s': float,
    'sample_rate': int, 'size': (w, h)}. For tests and benchmarks."""
    import av

    src = io.BytesIO(path) if isinstance(path, (bytes, bytearray)) else str(path)
    with av.open(src) as c:
        v = c.streams.video[0]
        fps = float(v.average_rate)
        frames = sum(1 for _ in c.decode(v))
        size = (v.width, v.height)
    audio_s, sr = 0.0, 0
    with av.open(io.BytesIO(path) if isinstance(path, (bytes, bytearray)) else str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            sr = int(a.rate)
            audio_s = sum(f.samples for f in c.decode(a)) / sr
    return {"frames": frames, "fps": fps, "video_s": frames / fps, "audio_s": audio_s,
            "sample_rate": sr, "size": size}
