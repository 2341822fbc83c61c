"""Voice round trip: TTS (piper, espeak) -> ASR (Whisper tiny.en); WER and speed on this machine.

Run: python -m bench.voice [--engines piper espeak] [--limit N]
Writes bench/results/voice.json and prints a table. Figures are medians over sentences unless
marked "total" (sum of compute time / sum of audio time).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path

from avatar.settings import TTSSettings
from avatar.voice import VoiceSettings, make_tts
from bench.wer import wer
from dialogue.asr.whisper import WhisperASR
from dialogue.settings import ASRSettings
from emotion import EmotionState

_LOG = logging.getLogger("bench.voice")
ROOT = Path(__file__).resolve().parents[1]
SENTENCES = ROOT / "tests" / "data" / "roundtrip_sentences.txt"
RESULTS = ROOT / "bench" / "results" / "voice.json"
REPLY_FOLLOW_UP = " I hope that answers your question. Let me know what you think."


def run_engine(name: str, sentences: list[str], asr: WhisperASR) -> dict:
    tts = make_tts(name, TTSSettings())
    voice, neutral = VoiceSettings(backend=name), EmotionState.neutral()
    t0 = time.perf_counter()
    if hasattr(tts, "start"):
        tts.start()
    load_s = time.perf_counter() - t0
    tts.synthesize("Warm up.", voice, neutral)
    hyps, tts_rtf, asr_rtf, first_ms = [], [], [], []
    tts_time = asr_time = audio_s = 0.0
    for s in sentences:
        t0 = time.perf_counter()
        clip = tts.synthesize(s, voice, neutral)
        dt = time.perf_counter() - t0
        t1 = time.perf_counter()
        tr = asr.transcribe(clip.pcm, clip.sample_rate)
        da = time.perf_counter() - t1
        hyps.append(tr.text)
        tts_rtf.append(dt / clip.duration)
        asr_rtf.append(da / clip.duration)
        tts_time, asr_time, audio_s = tts_time + dt, asr_time + da, audio_s + clip.duration
        # time to first audio of a multi-sentence reply (worker already loaded)
        t2 = time.perf_counter()
        stream = tts.stream_synthesize(s + REPLY_FOLLOW_UP, voice, neutral)
        next(stream)
        first_ms.append((time.perf_counter() - t2) * 1000)
        stream.close()
        if hyps[-1].strip().lower() != s.strip().lower():
            _LOG.info("%s | ref: %s | hyp: %s", name, s, hyps[-1])
    if hasattr(tts, "close"):
        tts.close()
    return {
        "wer": wer(sentences, hyps),
        "tts_rtf_median": statistics.median(tts_rtf),
        "tts_rtf_total": tts_time / audio_s,
        "first_audio_ms_median": statistics.median(first_ms),
        "first_audio_ms_max": max(first_ms),
        "asr_rtf_median": statistics.median(asr_rtf),
        "asr_rtf_total": asr_time / audio_s,
        "audio_s": audio_s,
        "load_s": load_s,
        "n_sentences": len(sentences),
        "hypotheses": hyps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["piper", "espeak"])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N sentences")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sentences = [s.strip() for s in SENTENCES.read_text().splitlines() if s.strip()]
    if args.limit:
        sentences = sentences[: args.limit]
    load_before = os.getloadavg()
    asr = WhisperASR(ASRSettings())
    t0 = time.perf_counter()
    asr.load()
    asr_load_s = time.perf_counter() - t0
    results = {name: run_engine(name, sentences, asr) for name in args.engines}
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "asr_load_s": asr_load_s,
        "targets": {"wer": 0.10, "tts_rtf": 0.3, "first_audio_ms": 300, "asr_rtf": 0.5},
        "engines": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    head = f"{'engine':8} {'WER':>6} {'TTS RTF':>8} {'first audio ms':>15} {'ASR RTF':>8}  (medians; targets 10% / 0.3 / 300 / 0.5)"
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        lines.append(f"{name:8} {r['wer']:6.1%} {r['tts_rtf_median']:8.3f} {r['first_audio_ms_median']:15.0f} {r['asr_rtf_median']:8.3f}")
    lines.append(f"load average before/after: {load_before[0]:.2f} / {report['machine']['loadavg_after'][0]:.2f} on {os.cpu_count()} cores")
    _LOG.info("\n".join(lines))
    _LOG.info("wrote %s", RESULTS.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
