"""How much of a spoken turn's final transcript its partial transcripts already had right.

The live microphone (app/live.py) transcribes the utterance so far once a second while the person
speaks and has the LLM evaluate each partial's prompt (the reply's prompt so far); once the turn
ends the reply evaluates the prompt from the first character where the final transcript differs
from the last prefilled one. This bench measures that on real speech (Debian
pocketsphinx-testdata, the utterances bench/live.py speaks) with the shipped Whisper tiny.en:
each utterance cut after 1, 2, 3 ... s (what a partial sees) and transcribed, then compared with
the transcript of the whole utterance. Two ways of decoding a partial:

- plain: as the app does (each partial decoded afresh);
- forced: decoding forced to begin with the previous partial minus its last word (faster-whisper
  `prefix`), the "make the partials stable" idea: later words can then no longer revise earlier
  ones.

Reported per way: the share of the final transcript's characters the last partial before the end
had right (its common prefix with the final), and how many partials began differently from the
final (nothing of theirs is reusable). Quality figures: load-independent (CPU and load recorded).

Run: python -m bench.live_partials   (about a minute on 2 cores; bench/results/live_partials.json)
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import numpy as np

from bench.live import LIBRIVOX, SPOKEN

RESULTS = Path(__file__).resolve().parent / "results"


def common_prefix(a: str, b: str) -> int:
    """Characters `a` and `b` share from their start."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def forced_prefix(previous: str) -> str | None:
    """The previous partial without its last word (that one is often cut off mid-word)."""
    words = previous.split()[:-1]
    return " ".join(words) or None


def measure() -> dict:
    import soundfile as sf
    from faster_whisper import WhisperModel

    from bench.machine import cpu_model
    from dialogue.asr.whisper import default_model_dir

    model = WhisperModel(default_model_dir(), device="cpu", compute_type="int8", cpu_threads=2)

    def transcribe(pcm: np.ndarray, prefix: str | None = None) -> str:
        # as dialogue.asr.whisper.WhisperASR decodes (greedy, no conditioning, no VAD filter)
        segments, _ = model.transcribe(pcm, language="en", beam_size=1, condition_on_previous_text=False,
                                       vad_filter=False, word_timestamps=True, prefix=prefix)
        return " ".join(s.text.strip() for s in segments if s.text.strip())

    meta = {"cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_start": os.getloadavg()}
    clips = []
    for name in SPOKEN:
        pcm, sr = sf.read(LIBRIVOX / name, dtype="float32")
        final = transcribe(pcm)
        partials, previous = [], ""
        for cut_s in np.arange(1.0, len(pcm) / sr, 1.0):
            head = pcm[: int(cut_s * sr)]
            plain = transcribe(head)
            forced = transcribe(head, forced_prefix(previous)) if previous else plain
            partials.append({"cut_s": float(cut_s), "plain": plain, "forced": forced,
                             "plain_right": common_prefix(plain, final), "forced_right": common_prefix(forced, final)})
            previous = plain
        clips.append({"clip": name, "seconds": len(pcm) / sr, "final": final, "partials": partials})
    summary = {}
    for way in ("plain", "forced"):
        last = [c["partials"][-1][f"{way}_right"] / len(c["final"]) for c in clips if c["partials"]]
        summary[way] = {"last_partial_right_share_median": statistics.median(last),
                        "last_partial_right_shares": last,
                        "partials_wrong_from_the_start": sum(p[f"{way}_right"] == 0 for c in clips
                                                             for p in c["partials"]),
                        "partials": sum(len(c["partials"]) for c in clips)}
    return meta | {"load_avg_end": os.getloadavg(), "clips": clips, "summary": summary}


def main() -> int:
    if not LIBRIVOX.is_dir():
        print(f"no speech: {LIBRIVOX} is missing (apt-get install pocketsphinx-testdata)")  # noqa: T201
        return 1
    res = measure()
    out = RESULTS / "live_partials.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(f"{res['cpu']} ({res['cores']} cores), load {res['load_avg_start']} -> {res['load_avg_end']}")  # noqa: T201
    for way, s in res["summary"].items():
        shares = " / ".join(f"{x:.0%}" for x in s["last_partial_right_shares"])
        print(f"{way:7s} last partial right: {shares} of the final (median "  # noqa: T201
              f"{s['last_partial_right_share_median']:.0%}); wrong from the start: "
              f"{s['partials_wrong_from_the_start']} of {s['partials']} partials")
    print(f"wrote {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
