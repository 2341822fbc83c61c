"""Real encoder, real espeak-ng, real mediapipe on small inputs."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.motion.clip import FPS
from avatar.video.encode import encode_mp4, probe
from avatar.video.mux import concat_mp4, exact_audio
from avatar.video.stream import stream_segments

pytestmark = pytest.mark.integration


def test_encode_produces_a_playable_mp4(tmp_path):
    sr, n = 16000, 40
    frames = [np.full((64, 64, 3), (i * 5) % 255, np.uint8) for i in range(n)]
    audio = (0.2 * np.sin(np.arange(n * sr // FPS) * 0.07)).astype(np.float32)
    out = tmp_path / "clip.mp4"
    assert encode_mp4(frames, out, FPS, audio, sr) == n
    info = probe(out)
    assert info["frames"] == n and info["size"] == (64, 64)
    assert abs(info["audio_s"] - n / FPS) < 1.5 / FPS
    assert out.read_bytes()[4:8] == b"ftyp" and b"moov" in out.read_bytes()[:4096]   # faststart


def test_segments_are_self_contained_and_cover_the_reply():
    sr, n = 16000, 60
    frames = (np.zeros((32, 32, 3), np.uint8) for _ in range(n))
    segs = list(stream_segments(frames, np.zeros(n * sr // FPS, np.float32), sr, FPS, segment_s=1.0))
    assert len(segs) == 3
    infos = [probe(s) for s in segs]
    assert [i["frames"] for i in infos] == [25, 25, 10]


def test_exact_audio_never_drifts():
    sr, fps = 22050, 25
    counts = [37] * 200
    pcms = [np.ones(int(c * sr / fps) + k % 3 - 1, np.float32) for k, c in enumerate(counts)]
    track = exact_audio(pcms, counts, sr, fps)
    assert len(track) == round(sum(counts) * sr / fps)


def _marker_clip(n, sr, flash_every, click_every, offset):
    """frames with a white flash and audio with a click at the same instants (frame numbers
    counted from `offset`, so markers keep their global timing across segments)."""
    frames, pcm = [], np.zeros(int(round((offset + n) * sr / FPS)) - int(round(offset * sr / FPS)), np.float32)
    start = int(round(offset * sr / FPS))
    for k in range(n):
        g = offset + k
        frames.append(np.full((32, 32, 3), 255 if g % flash_every == 0 else 0, np.uint8))
        if g % click_every == 0:
            s = int(round(g * sr / FPS)) - start
            pcm[s:s + 80] = 0.8
    return frames, pcm


def test_five_minute_mux_keeps_audio_and_video_aligned(tmp_path):
    """5 minutes of 64-frame clips with a flash + click every 10 s: after muxing, the last click
    is within one frame of the last flash, and both streams last 5 minutes."""
    sr = 16000
    total = 5 * 60 * FPS
    segs, done = [], 0
    seg_len = 63   # odd length so per-clip sample counts are fractional (368 ms * 16 kHz ...)
    while done < total:
        n = min(seg_len, total - done)
        frames, pcm = _marker_clip(n, sr, 250, 250, done)
        path = tmp_path / f"s{len(segs)}.mp4"
        encode_mp4(frames, path, FPS, pcm, sr)
        segs.append(path)
        done += n
    out = concat_mp4(segs, tmp_path / "all.mp4", FPS, subtitles=[(0.0, 2.0, "hello"), (290.0, 292.0, "bye")])
    info = probe(out)
    assert info["frames"] == total
    assert abs(info["audio_s"] - total / FPS) < 1.0 / FPS + 0.07     # + AAC tail padding
    import av

    with av.open(str(out)) as c:
        assert any(s.type == "subtitle" for s in c.streams)
        flashes = [i for i, f in enumerate(c.decode(video=0)) if f.to_ndarray(format="gray").mean() > 128]
    with av.open(str(out)) as c:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    loud = np.flatnonzero(np.abs(audio) > 0.4)
    clicks = [loud[0]] + [b for a, b in zip(loud[:-1], loud[1:]) if b - a > sr]
    assert len(flashes) == len(clicks) == total // 250
    offsets = [(c / sr) * FPS - f for c, f in zip(clicks, flashes)]
    # AAC adds a constant encoder delay; what matters is that it does not grow over 5 minutes
    assert max(offsets) - min(offsets) < 1.0
    assert abs(offsets[-1]) < 2.0


def test_pipeline_says_a_sentence_end_to_end(tmp_path):
    from avatar.pipeline import AvatarPipeline, Continuity, Mp4File, Say
    from avatar.render.stylized import StylizedRenderer
    from emotion import EmotionState
    from tests.fakes_render import EnergyMotion, EspeakTTS

    pipeline = AvatarPipeline(EspeakTTS(), EnergyMotion(), StylizedRenderer(128))
    segment, = pipeline.stream([Say("Hello there, nice to meet you.", EmotionState.of("happy"))], Continuity(),
                               Mp4File(pipeline, tmp_path / "u.mp4"))
    info = probe(segment.video)
    assert info["frames"] == segment.motion.num_frames > 25
    assert abs(info["audio_s"] - info["video_s"]) < 0.1
