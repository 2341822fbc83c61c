"""avatar/video/live.py: the live stream's fragmented MP4 comes out as soon as it is encoded."""

from __future__ import annotations

import struct

import numpy as np

from avatar.video.live import LiveEncoder


def boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, offset, size) of the MP4 boxes in data[start:end]."""
    end = len(data) if end is None else end
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        yield kind.decode(), start, size
        start += size


def samples_of_track(data: bytes, track: int) -> int:
    """Samples of `track` in the fragments (moof boxes) of `data`."""
    n = 0
    for kind, at, size in boxes(data):
        if kind != "moof":
            continue
        for kind2, at2, size2 in boxes(data, at + 8, at + size):
            if kind2 != "traf":
                continue
            inner = list(boxes(data, at2 + 8, at2 + size2))
            tid = next(struct.unpack(">I", data[a + 12:a + 16])[0] for k, a, _ in inner if k == "tfhd")
            if tid == track:
                n += sum(struct.unpack(">I", data[a + 12:a + 16])[0] for k, a, _ in inner if k == "trun")
    return n


def test_all_but_the_last_frame_written_is_out_after_each_write():
    enc = LiveEncoder(64, 64, fps=25, sample_rate=24000)
    first = enc.write([np.zeros((64, 64, 3), np.uint8)] * 4, np.zeros(4 * 960, np.float32))
    assert first[4:8] == b"ftyp"
    out = samples_of_track(first, 1)
    lags = []
    for k in range(1, 20):
        rng = np.random.default_rng(k)
        frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(4)]
        out += samples_of_track(enc.write(frames, 0.1 * rng.standard_normal(4 * 960).astype(np.float32)), 1)
        lags.append(4 * (k + 1) - out)
    # the page gets each chunk's frames with the chunk (one frame waits for the next packet); an
    # interleaving muxer held 4-8 frames back (160-320 ms of latency)
    assert max(lags) <= 1
    assert samples_of_track(enc.close(), 1) == lags[-1]


def test_a_stream_can_begin_with_several_keyframes():
    import io

    import av

    def keyframes(enc) -> list[int]:
        rng = np.random.default_rng(0)
        data = b"".join(enc.write([rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)], np.zeros(960, np.float32))
                        for _ in range(30)) + enc.close()
        with av.open(io.BytesIO(data)) as f:
            return [k for k, p in enumerate(p for p in f.demux(video=0) if p.size) if p.is_keyframe]

    assert keyframes(LiveEncoder(64, 64, fps=25)) == [0, 25]  # one a second
    assert keyframes(LiveEncoder(64, 64, fps=25, intra_frames=4)) == [0, 1, 2, 3, 28]  # the GOP counts from the last
