"""Real-time budget of the avatar path: CPU milliseconds per second of output for each stage, and
the warp renderer's per-frame time as a ratio to a bare cv2.remap of the same frame, same run.

Stages: TTS (piper, its worker process included), speaking motion (the transformer), live listening
(LiveListener fed 40 ms chunks, one frame per chunk, as the presence loop calls it), voice activity
(Silero, 32 ms windows), warp render (512x512), H.264/AAC encode. On 2 cores the whole path has
2000 CPU ms per second; what it leaves is the language model's.

Run: python -m bench.realtime [--avatar astronaut] [--size 512] [--opencv-threads N] [--passes 3] [--out F]
     -> table, bench/results/realtime.json (the warp and its bare remap run in the app's OpenCV
        thread pool, RenderSettings.opencv_threads, unless --opencv-threads says otherwise)
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import time
from pathlib import Path

import cv2
import numpy as np
from bench.machine import cpu_model

log = logging.getLogger(__name__)
RESULTS = Path(__file__).resolve().parent / "results"
SENTENCES = ("Hello! It is really nice to talk with you today.",
             "I was thinking about what you said yesterday, and I believe you were right.",
             "Shall we try again tomorrow morning, after a good breakfast?")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (/proc/PID/stat), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """CPU seconds of this process (all threads) and, optionally, of a helper process."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid

    def now(self) -> float:
        return time.process_time() + (process_cpu_s(self.pid) if self.pid else 0.0)


def stage(name: str, cpu_s: float, output_s: float, **extra) -> dict:
    return {"stage": name, "cpu_ms_per_s": 1000 * cpu_s / output_s, "output_s": output_s, **extra}


def bench_tts(sentences):
    from avatar.settings import TTSSettings
    from avatar.voice import make_tts
    from avatar.voice.base import VoiceSettings
    from emotion import EmotionState

    tts = make_tts("piper", TTSSettings())
    tts.start()  # loading the voice is not part of the real-time budget
    meter = Meter(tts._worker.proc.pid)
    c = meter.now()
    clips = [tts.synthesize(s, VoiceSettings(), EmotionState.of("happy", 0.6)) for s in sentences]
    cpu = meter.now() - c
    tts.close()
    return clips, stage("TTS (piper, worker included)", cpu, sum(clip.duration for clip in clips))


def bench_motion(clips):
    from avatar.motion.base import MotionRequest
    from avatar.motion.clip import Role
    from avatar.motion.generator import TransformerMotionGenerator
    from avatar.motion.io import concat
    from emotion import EmotionState
    from emotion.builtin import get_profile

    gen = TransformerMotionGenerator()
    profile = get_profile("warm")
    gen.generate(MotionRequest(role=Role.SPEAKING, emotion=EmotionState.of("happy", 0.6), profile=profile,
                               speech=clips[0], seed=0))  # warm-up (first call allocates)
    c = time.process_time()
    motions, prev = [], None
    for k, clip in enumerate(clips):
        prev = gen.generate(MotionRequest(role=Role.SPEAKING, emotion=EmotionState.of("happy", 0.6),
                                          profile=profile, speech=clip, previous=prev, seed=k))
        motions.append(prev)
    cpu = time.process_time() - c
    motion = concat(motions)
    return motion, stage("speaking motion (transformer)", cpu, motion.duration)


def bench_listener(pcm, sr):
    from avatar.motion.live import LiveListener
    from emotion.builtin import get_profile

    listener = LiveListener(get_profile("warm"), seed=0)
    step = sr // 25  # 40 ms: one frame per chunk
    c = time.process_time()
    n = 0
    for i in range(0, len(pcm) - step + 1, step):
        listener.push_audio(pcm[i:i + step], sr)
        listener.next_frames(1)
        n += 1
    return stage("live listener (40 ms chunks)", time.process_time() - c, n / 25)


def bench_vad(pcm16k):
    from dialogue.asr.vad import StreamingVAD

    vad = StreamingVAD(16000)
    step = 640  # 40 ms
    c = time.process_time()
    for i in range(0, len(pcm16k), step):
        vad.feed(pcm16k[i:i + step])
    return stage("voice activity (Silero)", time.process_time() - c, len(pcm16k) / 16000)


def bench_warp(motion, avatar: str, size: int, opencv_threads: int | None = None, passes: int = 3):
    """Per frame: the renderer's frame, then a bare cv2.remap of the portrait with that frame's own
    source map (float32, the same flags): wall and CPU times of both, interleaved, over `passes`
    passes of the clip. A smiling photo's renderer (avatar.render.rest) warps the relaxed
    portrait, and also the photo itself where the frame shows its own smile: the floor is one
    remap, of the relaxed portrait.

    The passes follow an untimed one (whose frames are returned). The ratio is given from the
    first timed pass (medians of wall time, means of CPU) and from each
    frame's best of the passes (both sides alike, as timeit advises: a shared machine's stalls
    only ever add time, and they hit the longer, many-call warp harder than the single remap).
    The stage's CPU per second of output is the first pass's."""
    from avatar.render import make_renderer
    from avatar.settings import RenderSettings

    settings = RenderSettings(size=size)
    if opencv_threads is not None:
        settings = settings.model_copy(update={"opencv_threads": opencv_threads})
    r = make_renderer(avatar, settings)  # (sizes OpenCV's pool: the bare remap below runs in the same)
    warp = getattr(r, "relaxed", r)  # a smiling photo's RestFaceRenderer: the relaxed portrait's warp
    image = warp.portrait.image
    image4 = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)  # the warp's own layout (WarpRenderer._remap)
    # an untimed pass first, whose frames are kept for the encoder: a process's first frames pay
    # one-time costs (the allocator's first large blocks, cold caches) that a live stream pays once
    frames = [r.render_frame(motion, i) for i in range(motion.num_frames)]
    for i in range(motion.num_frames):
        cv2.remap(image, warp.source_map(motion.pose[i], motion.expression[i], motion.gaze[i]), None,
                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # pass, (warp wall, warp CPU, remap wall, remap CPU, remap of the 4-channel image wall), frame
    times = np.zeros((passes, 5, motion.num_frames))
    for k in range(passes):
        for i in range(motion.num_frames):
            t, c = time.perf_counter(), time.process_time()
            r.render_frame(motion, i)
            times[k, :2, i] = time.perf_counter() - t, time.process_time() - c
            m = warp.source_map(motion.pose[i], motion.expression[i], motion.gaze[i])
            t, c = time.perf_counter(), time.process_time()
            cv2.remap(image, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            times[k, 2:4, i] = time.perf_counter() - t, time.process_time() - c
            t = time.perf_counter()
            cv2.remap(image4, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            times[k, 4, i] = time.perf_counter() - t
    wall, cpu, bare_wall, bare_cpu, bare4_wall = times[0]
    best_wall, best_bare = times[:, 0].min(0), times[:, 2].min(0)
    ratio = {
        "warp_ms_median_wall": 1000 * float(np.median(wall)), "remap_ms_median_wall": 1000 * float(np.median(bare_wall)),
        "warp_ms_mean_cpu": 1000 * float(cpu.mean()), "remap_ms_mean_cpu": 1000 * float(bare_cpu.mean()),
        "ratio_median_wall": float(np.median(wall) / np.median(bare_wall)),
        "ratio_mean_cpu": float(cpu.mean() / bare_cpu.mean()),
        "ratio_per_frame_wall_median": float(np.median(wall / bare_wall)),
        "passes": passes,
        "warp_ms_median_wall_best": 1000 * float(np.median(best_wall)),
        "remap_ms_median_wall_best": 1000 * float(np.median(best_bare)),
        "ratio_median_wall_best": float(np.median(best_wall) / np.median(best_bare)),
        "ratio_median_wall_per_pass": [float(np.median(p[0]) / np.median(p[2])) for p in times],
        # the same map on the image with a fourth channel, the layout the warp samples (OpenCV's
        # remap is 2-2.5x faster on it): the floor of the warp's own layout
        "remap_rgba_ms_median_wall": 1000 * float(np.median(bare4_wall)),
        "ratio_to_rgba_remap_median_wall": float(np.median(wall) / np.median(bare4_wall)),
    }
    return frames, stage(f"warp render {size}x{size} ({avatar})", float(cpu.sum()), motion.duration, **ratio)


def bench_encode(frames, pcm, sr):
    from avatar.motion.clip import FPS
    from avatar.video.encode import encode_mp4

    c = time.process_time()
    encode_mp4(frames, io.BytesIO(), FPS, pcm[: int(len(frames) / FPS * sr)], sr)
    return stage("encode H.264 + AAC", time.process_time() - c, len(frames) / FPS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--avatar", default="astronaut")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--opencv-threads", type=int, default=None,
                    help="OpenCV's thread pool for the warp and its bare remap (default: the app's, "
                         "RenderSettings.opencv_threads; 0: OpenCV's own default)")
    ap.add_argument("--passes", type=int, default=3, help="passes of the clip through the warp and its bare remap")
    ap.add_argument("--out", type=Path, default=RESULTS / "realtime.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from avatar.motion.features import resample

    res: dict = {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()}
    clips, tts = bench_tts(SENTENCES)
    pcm = np.concatenate([c.pcm for c in clips]).astype(np.float32)
    sr = clips[0].sample_rate
    motion, mot = bench_motion(clips)
    listener = bench_listener(pcm, sr)
    vad = bench_vad(resample(pcm, sr, 16000))
    frames, warp = bench_warp(motion, args.avatar, args.size, args.opencv_threads, args.passes)
    res["cv2_threads"] = cv2.getNumThreads()
    enc = bench_encode(frames, pcm, sr)
    stages = [tts, mot, listener, vad, warp, enc]
    res["stages"] = stages
    res["speaking_path_cpu_ms_per_s"] = sum(s["cpu_ms_per_s"] for s in (tts, mot, warp, enc))
    res["listening_path_cpu_ms_per_s"] = sum(s["cpu_ms_per_s"] for s in (listener, vad, warp, enc))
    res["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))

    width = max(len(s["stage"]) for s in stages) + 2
    print(f"{'stage':<{width}}  CPU ms per s of output")  # noqa: T201 - a benchmark prints its table
    for s in stages:
        print(f"{s['stage']:<{width}}  {s['cpu_ms_per_s']:8.1f}")  # noqa: T201
    print(f"{'speaking path (TTS+motion+warp+encode)':<{width}}  {res['speaking_path_cpu_ms_per_s']:8.1f}"  # noqa: T201
          "  (of 2000 on 2 cores)")
    print(f"{'listening path (VAD+listener+warp+encode)':<{width}}  {res['listening_path_cpu_ms_per_s']:8.1f}")  # noqa: T201
    print(f"warp {warp['warp_ms_median_wall']:.2f} ms vs bare remap {warp['remap_ms_median_wall']:.2f} ms a frame "  # noqa: T201
          f"(median wall): {warp['ratio_median_wall']:.2f}x; CPU {warp['warp_ms_mean_cpu']:.2f} vs "
          f"{warp['remap_ms_mean_cpu']:.2f} ms: {warp['ratio_mean_cpu']:.2f}x")
    print(f"each frame's best of {warp['passes']} passes: warp {warp['warp_ms_median_wall_best']:.2f} ms vs "  # noqa: T201
          f"{warp['remap_ms_median_wall_best']:.2f} ms (median): {warp['ratio_median_wall_best']:.2f}x; per pass "
          + " / ".join(f"{x:.2f}x" for x in warp["ratio_median_wall_per_pass"]))
    print(f"the same map on the 4-channel image the warp samples: bare remap {warp['remap_rgba_ms_median_wall']:.2f} ms, "  # noqa: T201
          f"warp {warp['ratio_to_rgba_remap_median_wall']:.2f}x it")
    print(f"{res['cpu']}, cv2 threads {res['cv2_threads']}, load average start {res['load_avg_start']}, "  # noqa: T201
          f"end {res['load_avg_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
