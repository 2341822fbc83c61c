"""Join segments or clips into one MP4 with a sample-exact audio track, optional soft subtitles."""

from __future__ import annotations

import io
import logging
import math
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avatar.video.encode import _audio_frames

log = logging.getLogger(__name__)


def exact_audio(pcms: Sequence[np.ndarray], frame_counts: Sequence[int], sr: int, fps: int) -> np.ndarray:
    """One audio track for consecutive clips: clip k is padded/trimmed so that it ends exactly at
    sample round(frames so far * sr / fps). Rounding never accumulates, so audio and video stay
    aligned to within one sample however many clips are joined."""
    out, done = [], 0
    total = 0
    for pcm, n in zip(pcms, frame_counts, strict=True):
        total += int(n)
        end = int(round(total * sr / fps))
        want = end - done
        chunk = np.zeros(want, np.float32)
        pcm = np.asarray(pcm, np.float32).reshape(-1)[:want]
        chunk[:len(pcm)] = pcm
        out.append(chunk)
        done = end
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _at_rate(pcm: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`pcm` at `rate` Hz resampled to `target` Hz (unchanged when equal or without audio)."""
    if rate in (0, target) or pcm.size == 0:
        return pcm
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target))
    return resample_poly(pcm, target // g, rate // g).astype(np.float32)


def _open(src):
    import av

    return av.open(io.BytesIO(src) if isinstance(src, (bytes, bytearray)) else str(src))


def _read_segment(src) -> tuple[list, int, np.ndarray, int]:
    """(video packets, frame count, mono pcm, sample rate) of one MP4."""
    import av

    with _open(src) as c:
        v = c.streams.video[0]
        packets = [p for p in c.demux(v) if p.size > 0]
        n = len(packets)
    pcm, sr = np.zeros(0, np.float32), 0
    with _open(src) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            sr = int(a.rate)
            res = av.AudioResampler(format="flt", layout="mono", rate=sr)
            parts = [o.to_ndarray().reshape(-1) for f in c.decode(a) for o in res.resample(f)]
            parts += [o.to_ndarray().reshape(-1) for o in res.resample(None)]
            if parts:
                pcm = np.concatenate(parts)
    return packets, n, pcm, sr


def concat_mp4(segments: Sequence[bytes | str | Path], out: str | Path, fps: int = 25,
               subtitles: Sequence | None = None) -> Path:
    """Join MP4 segments made by encode_mp4/stream_segments (same size and encoder settings).

    Video packets are copied, not re-encoded (timestamps rewritten frame by frame); the audio is
    decoded, rebuilt with `exact_audio` and encoded once. `subtitles`: cues (start_s, end_s, text)
    or objects with .start/.end/.text, muxed as a mov_text track with the ffmpeg CLI.
    """
    import av

    out = Path(out)
    read = [_read_segment(seg) for seg in segments]
    sr = next((r[3] for r in read if r[3]), 0)
    target = out if not subtitles else out.with_suffix(".nosubs.mp4")
    with _open(segments[0]) as first, av.open(str(target), "w", options={"movflags": "+faststart"}) as oc:
        vout = oc.add_stream_from_template(first.streams.video[0])
        aout = None
        if sr:
            aout = oc.add_stream("aac", rate=sr)
            aout.layout = "mono"
        timed = []                                                      # (seconds, packet)
        frame_no = 0
        for packets, n, _, _ in read:
            if packets:
                tb = packets[0].time_base
                step = 1.0 / (fps * tb)
                base = min(p.pts for p in packets)
                for p in packets:
                    p.pts = int(round(p.pts - base + frame_no * step))
                    p.dts = int(round(p.dts - base + frame_no * step))
                    p.stream = vout
                    timed.append((float(p.dts * tb), p))
            frame_no += n
        if aout is not None:
            pcms = [_at_rate(r[2], r[3], sr) for r in read]  # e.g. a person's 48 kHz voice among 22.05 kHz TTS
            track = exact_audio(pcms, [r[1] for r in read], sr, fps)
            for af in _audio_frames(av, track, sr):
                timed += [(float(af.pts) / sr, p) for p in aout.encode(af)]
            timed += [(1e12, p) for p in aout.encode()]
        timed.sort(key=lambda tp: tp[0])                                # interleave by time
        for _, p in timed:
            oc.mux(p)
    if subtitles:
        add_subtitles(target, subtitles, out)
        target.unlink()
    return out


def _srt_time(t: float) -> str:
    ms = int(round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def to_srt(cues: Sequence) -> str:
    lines = []
    for i, cue in enumerate(cues, 1):
        start, end, text = (cue.start, cue.end, cue.text) if hasattr(cue, "text") else cue
        lines += [str(i), f"{_srt_time(start)} --> {_srt_time(end)}", str(text).strip(), ""]
    return "\n".join(lines)


def add_subtitles(video: str | Path, cues: Sequence, out: str | Path, language: str = "eng") -> Path:
    """Copy `video` to `out` with a soft mov_text subtitle track (ffmpeg CLI from imageio-ffmpeg:
    PyAV cannot encode mov_text from text cues)."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        srt = Path(tmp) / "subs.srt"
        srt.write_text(to_srt(cues), encoding="utf-8")
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(video), "-i", str(srt),
               "-map", "0", "-map", "1", "-c", "copy", "-c:s", "mov_text",
               "-metadata:s:s:0", f"language={language}", "-movflags", "+faststart", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg could not add subtitles: {proc.stderr.strip()[-500:]}")
    return Path(out)
