"""A never-ending fragmented MP4 (H.264 + AAC) for a live avatar stream played by MediaSource.

One `LiveEncoder` per stream: `write(frames, pcm)` encodes the next few frames and their audio
and returns the MP4 bytes that became ready (the first call also returns the init segment:
ftyp + moov). Fragments are cut every `fragment_s` so a browser can play them as they arrive;
x264 runs with `tune=zerolatency` (no frame delay) and a keyframe every `gop_s`, and packets are
muxed as soon as they are encoded (not interleaved): all but the last frame written are out
after each `write` (audio trails by the AAC encoder's two frames, about 85 ms).
"""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np

log = logging.getLogger(__name__)

AAC_FRAME = 1024  # samples per AAC frame
CODECS = 'video/mp4; codecs="avc1.42E01F, mp4a.40.2"'  # H.264 constrained baseline + AAC-LC (MediaSource type)


class _Bytes:
    """The file object PyAV writes the stream to: collects bytes until taken."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.written = 0

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.written += len(data)
        return len(data)

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


class LiveEncoder:
    """Frames (H, W, 3) uint8 RGB at `fps` + mono float32 audio at `sample_rate` -> fMP4 bytes.

    Not thread-safe: one producer calls `write`. Audio and video must be written in step (the
    samples of exactly the frames written); `close` ends the stream.

    intra_frames: the first frames that are all keyframes (1: only the first; then one every `gop_s`).
    A stream that replaces another in the page's buffer (a cut) takes several: Chromium's source
    buffer resumes a removed read position at the first keyframe at or after it, and its decoder
    has often read a few frames beyond the cut's splice point, so with one keyframe nothing new
    shows until the next GOP (bench/live: every freeze of 0.9 s or more began at a cut and lasted
    one GOP); with each of the first frames a keyframe, the next one is there.
    """

    def __init__(self, width: int, height: int, fps: int = 25, sample_rate: int = 24000,
                 fragment_s: float = 0.08, gop_s: float = 1.0, crf: int = 26, preset: str = "ultrafast",
                 intra_frames: int = 1):
        import av  # heavy: imported where used

        if width % 2 or height % 2:
            raise ValueError(f"frame size must be even for yuv420p, got {width}x{height}")
        self.fps, self.sample_rate = fps, sample_rate
        self._av = av
        self._out = _Bytes()
        self._container = av.open(self._out, mode="w", format="mp4", options={
            "movflags": "empty_moov+default_base_moof+frag_keyframe+frag_discont",
            "frag_duration": str(int(fragment_s * 1_000_000)), "flush_packets": "1",
            # write each packet at once: the muxer would otherwise hold video back until audio packets
            # of later times come (the AAC encoder lags), 4-8 frames (160-320 ms) of added latency
            "max_interleave_delta": "1"})
        self._video = self._container.add_stream("libx264", rate=fps)
        self._video.width, self._video.height, self._video.pix_fmt = width, height, "yuv420p"
        self._video.options = {"crf": str(crf), "preset": preset, "tune": "zerolatency", "profile": "baseline",
                               "g": str(max(1, int(round(gop_s * fps)))), "bf": "0"}
        self._audio = self._container.add_stream("aac", rate=sample_rate)
        self._audio.layout = "mono"
        self._audio.bit_rate = 64000
        self._intra_frames = intra_frames
        self._frames = 0
        self._samples = 0
        self._pending = np.zeros(0, np.float32)
        self._closed = False

    @property
    def frames_written(self) -> int:
        return self._frames

    def write(self, frames: list[np.ndarray], pcm: np.ndarray) -> bytes:
        """Encode `frames` and their audio `pcm` (any length; buffered to whole AAC frames);
        return the MP4 bytes ready now (maybe empty)."""
        if self._closed:
            raise ValueError("the live stream is closed")
        av = self._av
        for image in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            vf.pts = self._frames
            vf.time_base = Fraction(1, self.fps)
            if 0 < self._frames < self._intra_frames:
                vf.pict_type = av.video.frame.PictureType.I  # libx264 makes it an IDR (closed GOP)
            self._frames += 1
            self._container.mux(self._video.encode(vf))
        self._pending = np.concatenate([self._pending, np.clip(np.asarray(pcm, np.float32).reshape(-1), -1, 1)])
        while len(self._pending) >= AAC_FRAME:
            chunk, self._pending = self._pending[:AAC_FRAME], self._pending[AAC_FRAME:]
            af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = self.sample_rate, self._samples, Fraction(1, self.sample_rate)
            self._samples += AAC_FRAME
            self._container.mux(self._audio.encode(af))
        return self._out.take()

    def close(self) -> bytes:
        """Flush the encoders and end the stream; the last bytes."""
        if self._closed:
            return b""
        self._closed = True
        try:
            self._container.mux(self._video.encode(None))
            self._container.mux(self._audio.encode(None))
        finally:
            self._container.close()
        return self._out.take()
