"""The live conversation measured in the browser: the real app (embedded LLM, piper, the motion
generator's live listener, the warp renderer, the live stream) in headless Chromium, whose fake
microphone plays real speech (Debian pocketsphinx-testdata).

Run: python -m bench.live [--typed 3] [--llm embedded|scripted]

Figures (medians over turns; page clock = performance.now() in the page):
- typed -> first avatar audio+video: Send clicked -> the page's playback reaches the first frame of
  the avatar's speech (audio and video are one stream, so they start together). Shown with and
  without the LLM's time to its first sentence (measured in the app around the LLM call).
- end of speech -> first avatar audio: the end of the person's speech (VAD; the turn ends after
  0.6 s of silence, included) -> the page plays the reply's first frame. ASR and LLM included.
- freezes during a reply: gaps between frames presented (requestVideoFrameCallback) longer than
  two frame periods, between the reply's first and last speaking frame: the longest, and the
  frozen time as a share of the reply.
- barge-in: the start of the person's speech (VAD) -> the page silences the avatar.
- stream CPU: the stream thread's CPU milliseconds per second of output (motion, render, encode).
Writes bench/results/live.json (with CPU model and load averages) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "live.json"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
TYPED = ("Hi! I just got back from a wonderful trip to the mountains.",
         "I am a bit worried about my exam tomorrow.",
         "Guess what, I won a prize at work today!",
         "Can you tell me something calming before I sleep?")
SPOKEN = ("sense_and_sensibility_01_austen_64kb-0870.wav", "sense_and_sensibility_01_austen_64kb-0880.wav",
          "sense_and_sensibility_01_austen_64kb-0890.wav")
SCRIPTED = ("That sounds wonderful. Tell me more about it, I would love to hear everything. "
            "What was the best part of it for you?")
WAIT_MS = 240_000


class TimedLLM:
    """Wraps an LLM: records, per reply, seconds from the call to its first sentence."""

    def __init__(self, llm):
        self.llm = llm
        self.first_sentence_s: list[float] = []
        self._lock = threading.Lock()

    def stream_reply(self, persona, path, cues):
        t0 = time.perf_counter()
        first = True
        for chunk in self.llm.stream_reply(persona, path, cues):
            if first and chunk.final is None:
                with self._lock:
                    self.first_sentence_s.append(time.perf_counter() - t0)
                first = False
            yield chunk

    def __getattr__(self, name):
        return getattr(self.llm, name)


def speech_wav(path: Path, gap_s: float) -> Path:
    """The fake microphone's input: each LibriVox utterance followed by `gap_s` of silence."""
    import soundfile as sf

    parts = []
    for name in SPOKEN:
        pcm, sr = sf.read(LIBRIVOX / name, dtype="float32")
        parts += [pcm, np.zeros(int(gap_s * sr), np.float32)]
    parts.append(np.zeros(int(8 * 16000), np.float32))
    sf.write(path, np.concatenate(parts), 16000, subtype="PCM_16")
    return path


def _stats(page) -> dict:
    return page.evaluate("() => window.warmchatLive.stats")


def _turn_after(page, n_begun: int) -> int:
    """The turn the server began after `n_begun` turns (waits for it)."""
    page.wait_for_function("n => window.warmchatLive.stats.turnsBegun.length > n", arg=n_begun, timeout=WAIT_MS)
    return int(_stats(page)["turnsBegun"][n_begun][0])


def _reply(page, turn: int) -> dict:
    """The page's playback of `turn`'s speech once it has ended: first and last speaking time and
    the number of runs of speech (1: its sentences played without a silent gap between them)."""
    page.wait_for_function("g => { const s = window.warmchatLive.stats; const t = s.turns[g]; return t && t.end "
                           "&& !s.speaking && s.state !== 'thinking' }", arg=str(turn), timeout=WAIT_MS)
    return _stats(page)["turns"][str(turn)]


def _freezes(stats: dict, start: float, end: float) -> dict:
    gaps = [g for t, g in stats["gaps"] if start < t <= end]
    frozen = sum(g - 40.0 for g in gaps)
    duration_ms = max(end - start, 1.0)
    return {"reply_s": duration_ms / 1000, "longest_gap_ms": max(gaps, default=0.0),
            "frozen_share": frozen / duration_ms, "gaps_over_200ms": sum(g > 200 for g in gaps)}


def run(args) -> dict:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from playwright.sync_api import sync_playwright

    from app.personas import get_persona
    from app.services import build_services, warm_up
    from app.settings import Settings
    from app.ui.demo import build_demo
    from app.ui.server import _asr_factory, configure_queue, launch_options
    from tests.e2e.app_server import free_port

    tmp = Path(tempfile.mkdtemp(prefix="warmchat-bench-live-"))
    settings = Settings(data_dir=tmp / "data")
    services = build_services(settings, with_media=True)
    if args.llm == "scripted":
        from tests.fakes import FakeLLM

        services.llm = FakeLLM([(SCRIPTED, "happy", 0.6)])
    llm = services.llm = TimedLLM(services.llm)
    persona = get_persona(settings.persona, settings.personas_dir)
    t0 = time.perf_counter()
    warm_up(services, persona)
    warm_s = time.perf_counter() - t0
    asr = _asr_factory(settings)
    asr_model = asr()  # load the recognizer before the page starts the clock
    demo = build_demo(services, settings, asr=lambda: asr_model)
    port = free_port()
    configure_queue(demo, settings).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                           quiet=True, **launch_options(settings, demo))
    url = f"http://127.0.0.1:{port}/"
    wav = speech_wav(tmp / "mic.wav", args.gap)
    res: dict = {"llm": args.llm, "warm_up_s": warm_s, "typed": [], "spoken": [], "barge_in": []}
    try:
        with sync_playwright() as pw:
            from tests.e2e.conftest import CHROMIUM_ARGS

            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + [
                "--autoplay-policy=no-user-gesture-required", "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={wav}%noloop"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            t_goto = time.perf_counter()
            page.goto(url)
            page.wait_for_function("() => window.warmchatLive && window.warmchatLive.stats.playing", timeout=WAIT_MS)
            res["first_load_to_playing_s"] = time.perf_counter() - t_goto
            for text in TYPED[: args.typed]:
                box = page.locator("#message textarea")
                box.fill(text)
                n_llm = len(llm.first_sentence_s)
                n_begun = len(_stats(page)["turnsBegun"])
                page.locator("#send").click()
                sent = _stats(page)["sentAt"]
                reply = _reply(page, _turn_after(page, n_begun))
                page.wait_for_function("n => document.querySelectorAll('#history em').length >= n",
                                       arg=len(res["typed"]) + 2, timeout=WAIT_MS)  # the turn is saved
                llm_s = llm.first_sentence_s[n_llm] if len(llm.first_sentence_s) > n_llm else None
                first = (reply["first"] - sent) / 1000
                res["typed"].append({"text": text, "first_audio_video_s": first, "llm_first_sentence_s": llm_s,
                                     "without_llm_s": first - llm_s if llm_s is not None else None,
                                     "speech_runs": reply["runs"], **_freezes(_stats(page), reply["first"], reply["end"])})
            # hands-free: the microphone plays three utterances with pauses between them
            page.locator("#live-mic").click()
            for k in range(len(SPOKEN)):
                try:
                    page.wait_for_function("n => window.warmchatLive.stats.transcripts.length > n", arg=k,
                                           timeout=WAIT_MS)
                except Exception:  # the file ran out
                    break
                s = _stats(page)
                if not s["transcripts"][k]:
                    continue
                ended, n_begun = s["speechEndAt"], len(s["turnsBegun"])
                try:
                    reply = _reply(page, _turn_after(page, n_begun))
                except Exception:  # not answered in time
                    break
                s = _stats(page)
                res["spoken"].append({"transcript": s["transcripts"][k], "speech_runs": reply["runs"],
                                      "end_of_speech_to_audio_s": (reply["first"] - ended) / 1000,
                                      **_freezes(s, reply["first"], reply["end"])})
                if s["bargeAt"] is not None and all(b["at"] != s["bargeAt"] for b in res["barge_in"]):
                    res["barge_in"].append({"at": s["bargeAt"], "latency_ms": s["bargeLatencyMs"]})
            s = _stats(page)
            res["page"] = {k: s[k] for k in ("frames", "freezes", "frozenMs", "waiting", "fragments", "bytes", "mode")}
            hub = demo.warmchat_live
            for live in list(hub._by_session.values())[:1]:  # the page's session, before the page goes
                res["stream_cpu_ms_per_s"] = live.cost.per_second()
                res["stream_behind_max_s"] = live.cost.behind_s
                res["stream_frames"] = live.cost.frames
                res["stream_size"] = live.pipeline.renderer.size
            browser.close()
    finally:
        hub = getattr(demo, "warmchat_live", None)
        if hub is not None:
            hub.close_all()
        demo.close()
        close = getattr(services.llm.llm, "close", None)
        if close is not None:
            close()
    return res


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(res: dict) -> dict:
    typed, spoken = res["typed"], res["spoken"]
    replies = typed + spoken
    return {
        "typed_first_audio_video_s": _median([t["first_audio_video_s"] for t in typed]),
        "typed_without_llm_s": _median([t["without_llm_s"] for t in typed]),
        "llm_first_sentence_s": _median([t["llm_first_sentence_s"] for t in typed]),
        "end_of_speech_to_audio_s": _median([t["end_of_speech_to_audio_s"] for t in spoken]),
        "reply_longest_gap_ms": _median([r["longest_gap_ms"] for r in replies]),
        "reply_frozen_share": _median([r["frozen_share"] for r in replies]),
        "barge_in_ms": _median([b["latency_ms"] for b in res["barge_in"]]),
        "replies_without_silent_gaps": sum(r["speech_runs"] == 1 for r in replies),
        "replies": len(replies),
    }


def main(argv: list[str] | None = None) -> int:
    from bench.machine import cpu_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--typed", type=int, default=3, help="typed turns (max 4)")
    p.add_argument("--llm", choices=("embedded", "scripted"), default="embedded",
                   help="the configured (embedded) model, or a scripted instant one (the avatar path alone)")
    p.add_argument("--gap", type=float, default=4.0, help="seconds of silence after each spoken utterance")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    meta = {"cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_start": os.getloadavg()}
    res = run(args)
    res |= meta | {"load_avg_end": os.getloadavg(), "summary": summarize(res)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    s = res["summary"]

    def fmt(v, unit=""):
        return "-" if v is None else (f"{v:.2f}{unit}" if isinstance(v, float) else f"{v}{unit}")

    rows = [("typed -> first avatar audio+video (page)", fmt(s["typed_first_audio_video_s"], " s"), "<= 2.0 s"),
            ("  of which LLM first sentence", fmt(s["llm_first_sentence_s"], " s"), "apart"),
            ("  without the LLM", fmt(s["typed_without_llm_s"], " s"), ""),
            ("end of speech -> first avatar audio", fmt(s["end_of_speech_to_audio_s"], " s"), "<= 2.5 s"),
            ("longest freeze in a reply (median reply)", fmt(s["reply_longest_gap_ms"], " ms"), "<= 200 ms"),
            ("frozen share of a reply (median)", fmt(s["reply_frozen_share"]), "<= 0.02"),
            ("barge-in: speech start -> avatar silent", fmt(s["barge_in_ms"], " ms"), "<= 500 ms"),
            ("replies played as one run of speech", f"{s['replies_without_silent_gaps']} of {s['replies']}", ""),
            ("stream CPU ms per s (motion/render/encode)",
             "/".join(f"{v:.0f}" for v in res.get("stream_cpu_ms_per_s", {}).values()) or "-", "")]
    print(f"{res['cpu']} ({res['cores']} cores), load {res['load_avg_start']} -> {res['load_avg_end']}, llm {args.llm}")  # noqa: T201
    for name, value, target in rows:
        print(f"{name:46s} {value:>14s}  {target}")  # noqa: T201
    print(f"typed {len(res['typed'])}, spoken {len(res['spoken'])}, barge-ins {len(res['barge_in'])}; wrote {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
