"""Whisper's encoder window: the whole 30 s (as trained) against shorter ones.

Word error rate and seconds a transcription, both settings in the same run on the same clips:
the round-trip sentences spoken by piper (tests/data/roundtrip_sentences.txt), a few short answers,
and the real read speech of Debian pocketsphinx-testdata (the clips the live bench speaks).
Each clip is transcribed REPEATS times a setting, alternating, and the fastest time is kept.

    python -m bench.asr_window [--windows 30 20 15 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import time
from pathlib import Path

import numpy as np

from avatar.settings import TTSSettings
from avatar.voice import VoiceSettings, make_tts
from bench.machine import cpu_model
from bench.wer import wer
from dialogue.asr.audio import load_audio, to_mono_16k
from dialogue.asr.whisper import WhisperASR
from dialogue.settings import ASRSettings
from emotion import EmotionState

_LOG = logging.getLogger("bench.asr_window")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "asr_window.json"
SENTENCES = ROOT / "tests" / "data" / "roundtrip_sentences.txt"
SHORT = ("Yes.", "No, thanks.", "Okay, sure.", "Hello there.", "What do you mean?")
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
REPEATS = 2


def clips() -> list[tuple[str, str, np.ndarray]]:
    """(kind, reference text, 16 kHz audio) for every clip."""
    tts = make_tts("piper", TTSSettings())
    voice, neutral = VoiceSettings(backend="piper"), EmotionState.neutral()
    if hasattr(tts, "start"):
        tts.start()
    spoken = [s.strip() for s in SENTENCES.read_text().splitlines() if s.strip()] + list(SHORT)
    out = []
    for text in spoken:
        clip = tts.synthesize(text, voice, neutral)
        out.append(("piper", text, to_mono_16k(clip.pcm, clip.sample_rate)))
    if hasattr(tts, "close"):
        tts.close()
    refs = LIBRIVOX / "transcription"
    if refs.exists():
        for line in refs.read_text().splitlines():
            m = re.match(r"<s> (.*) </s> \((.*)\)", line)
            if m and (LIBRIVOX / f"{m.group(2)}.wav").exists():
                pcm, rate = load_audio(LIBRIVOX / f"{m.group(2)}.wav")
                out.append(("read speech", m.group(1), to_mono_16k(pcm, rate)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=float, nargs="+", default=[30.0, 20.0, 15.0, 10.0],
                        help="seconds of the encoder's window (30: the model's whole window)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load_before = os.getloadavg()
    data = clips()
    asrs = {window: WhisperASR(ASRSettings(encoder_window_s=window)) for window in args.windows}
    for asr in asrs.values():
        asr.load()
        asr.transcribe(data[0][2], 16000)  # warm
    hyps: dict[float, list[str]] = {window: [] for window in args.windows}
    secs: dict[float, list[float]] = {window: [] for window in args.windows}
    for _kind, _ref, pcm in data:
        best, said = {window: float("inf") for window in args.windows}, {}
        for _ in range(REPEATS):
            for window, asr in asrs.items():
                t0 = time.perf_counter()
                said[window] = asr.transcribe(pcm, 16000).text  # greedy: the same text each time
                best[window] = min(best[window], time.perf_counter() - t0)
        for window in args.windows:
            hyps[window].append(said[window])
            secs[window].append(best[window])
    kinds = sorted({k for k, _, _ in data})
    rows = {}
    for window in args.windows:
        row = {"window_s": window, "seconds_median": statistics.median(secs[window]), "seconds_total": sum(secs[window])}
        for kind in kinds:
            idx = [i for i, (k, _, _) in enumerate(data) if k == kind]
            row[f"wer_{kind}"] = wer([data[i][1] for i in idx], [hyps[window][i] for i in idx])
            row[f"seconds_median_{kind}"] = statistics.median(secs[window][i] for i in idx)
        row["wer"] = wer([d[1] for d in data], hyps[window])
        row["hypotheses"] = hyps[window]
        rows[str(window)] = row
    durations = [len(d[2]) / 16000 for d in data]
    report = {"cpu": cpu_model(), "cores": os.cpu_count(), "loadavg_before": load_before,
              "loadavg_after": os.getloadavg(), "clips": len(data),
              "clip_seconds": {"min": min(durations), "median": statistics.median(durations), "max": max(durations)},
              "references": [d[1] for d in data], "kinds": [d[0] for d in data], "settings": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    head = f"{'window':>12} {'WER all':>8} " + " ".join(f"{'WER ' + k:>16}" for k in kinds) + f" {'s a clip (median)':>18}"
    lines = [head, "-" * len(head)]
    for window in args.windows:
        r = rows[str(window)]
        name = f"{window:g} s"
        lines.append(f"{name:>12} {r['wer']:8.1%} " + " ".join(f"{r[f'wer_{k}']:16.1%}" for k in kinds)
                     + f" {r['seconds_median']:18.3f}")
    lines.append(f"{len(data)} clips, {min(durations):.1f}-{max(durations):.1f} s; {cpu_model()}, "
                 f"load average {load_before[0]:.2f} -> {report['loadavg_after'][0]:.2f} on {os.cpu_count()} cores")
    _LOG.info("\n".join(lines))
    _LOG.info("wrote %s", RESULTS.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
