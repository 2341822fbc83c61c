"""The live conversation measured in the browser: the real app (embedded LLM, piper, the motion
generator's live listener, the warp renderer, the live stream) in headless Chromium, whose fake
microphone plays real speech (Debian pocketsphinx-testdata).

Run: python -m bench.live                  (both, one after the other: about 5 minutes on 2 quiet cores)
     python -m bench.live --llm embedded    (the embedded model: bench/results/live.json)
     python -m bench.live --llm scripted    (an instant scripted model: the avatar path alone,
                                             bench/results/live_scripted.json)
Bounded: each run about 3-4 minutes on 2 quiet cores, at most about 6 (loading the models, then
`--budget`, default 260 s, for the turns: when it runs out the turns measured so far are kept).

Figures (medians over turns; page clock = performance.now() in the page):
- typed -> first avatar audio+video: Send clicked -> the page's playback reaches the first frame of
  the avatar's speech (audio and video are one stream, so they start together). Shown with and
  without the LLM's time to its first sentence (measured in the app around the LLM call). Two
  kinds of typed turn, both shown: "pasted" (the message put in the box at once and sent: nothing
  of it was evaluated before Send; the page's draft of it, sent as it ends with a full stop, reaches
  the model with the turn, which then waits for that evaluation: its time is in the figure, its
  prompt tokens may show under the draft rather than the turn) and "key by key" (typed as `Typist`
  types, about 65 words a minute with pauses; the page has the text so far prefilled at each
  300 ms pause and at a sentence's last key, as in use).
- end of speech -> first avatar audio: the end of the person's speech (VAD; the turn ends after
  0.5 s of silence, included) -> the page plays the reply's first frame. ASR and LLM included.
- freezes during a reply: gaps between frames presented (requestVideoFrameCallback) longer than
  two frame periods, between the reply's first and last speaking frame: the longest, and the
  frozen time as a share of the reply.
- barge-in: the start of the person's speech (VAD) -> the page silences the avatar, and -> its
  lips stop (the playhead reaches the cut beyond which the avatar's buffered speech was dropped).
- stream CPU: the stream thread's CPU milliseconds per second of output (motion, render, encode).
- heard (`--heard` only): the page's sound (a Web Audio analyser on the video element, RMS per
  animation frame): per reply, the media time from its first speaking frame to its first sound
  (the voice's own lead-in, about 50-65 ms for piper, and the analyser's lag included; a reply
  whose first words were skipped shows a longer delay), and how long sound went on after a
  barge-in.
- where the time goes (server clock, app.live.LiveSession.mark): per spoken turn, VAD end-of-turn
  silence, ASR left after it, page + Gradio to the turn's start, LLM first sentence, TTS + motion
  of it, queue -> stream, the stream's lead, and the page's own start; per typed turn from the
  turn's start on. With each, the prompt tokens the model evaluated for the reply (the rest came
  from its KV cache, filled by prefills while the person spoke and after the last reply), the
  prefills run and skipped before it, and `behind_prefill`: how long a prefill still evaluating
  when the turn began held the model (its one slot) before the turn's own request.
Writes the results JSON (CPU model, load averages at start and end and sampled every 5 s) and
prints a table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.live_figures import fmt, median, reply_freezes, sound_heard, stages, summarize, table_rows

RESULTS = Path(__file__).resolve().parent / "results"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
TYPED = ("Hi! I just got back from a wonderful trip to the mountains.",
         "I am a bit worried about my exam tomorrow.",
         "Guess what, I won a prize at work today!",
         "Can you tell me something calming before I sleep?")
TYPED_BY_HAND = ("My sister is coming to visit this weekend.",  # typed key by key (`--typing person`)
                 "I burnt the dinner and now I feel silly.",
                 "Do you think I should learn to play the piano?")
SPOKEN = ("sense_and_sensibility_01_austen_64kb-0880.wav",  # 3.0 s; its reply plays out
          "sense_and_sensibility_01_austen_64kb-0890.wav",  # 5.3 s; its reply is interrupted by ...
          "sense_and_sensibility_01_austen_64kb-0870.wav")  # 7.1 s: a barge-in, answered in turn
REPLY_GAP_S = 12.0  # silence after an utterance whose reply plays out
SCRIPTED_BARGE_GAP_S = 4.5
# the embedded model's second reply starts speaking 6-10 s after its utterance on a 2-core Xeon that
# decodes at about 100 ms a token (2026-12-02: 8-10 s, and at 6.5 s three runs of four had no barge-in:
# the third utterance came while it thought); on a 2-core EPYC at 30 ms a token it starts after 2-2.6 s
# and often lasts 1.4 s: at 8.5 s (2 runs) and 4.5 s (1 run of 2) it had ended when the third came.
# A third utterance that comes while the avatar still thinks cancels the reply (app/mic.py): no
# barge-in that run, and the second utterance's figure is left out (`spoken_cancelled`)
EMBEDDED_BARGE_GAP_S = 8.5
FAST_EMBEDDED_BARGE_GAP_S = 3.5
FAST_DECODE_MS = 45.0  # the model alone decodes faster than this (ms per token): FAST_EMBEDDED_BARGE_GAP_S
MID_EMBEDDED_BARGE_GAP_S = 5.5  # ... slower, but faster than MID_DECODE_MS (2026-12-04: 47-56 ms,
MID_DECODE_MS = 70.0  # its second reply began 3-4.4 s after the utterance)
SCRIPTED = ("That sounds wonderful. Tell me more about it, I would love to hear everything. "
            "What was the best part of it for you?")
WAIT_MS = 120_000  # the longest wait for one step (a page event); the whole run has --budget


class TimedLLM:
    """Wraps an LLM: records, per reply, seconds from the call to its first sentence."""

    def __init__(self, llm):
        self.llm = llm
        self.first_sentence_s: list[float] = []
        self.first_sentence_at: list[float] = []  # time.monotonic() of each first sentence
        self._lock = threading.Lock()

    def stream_reply(self, persona, path, cues):
        t0 = time.perf_counter()
        first = True
        for chunk in self.llm.stream_reply(persona, path, cues):
            if first and chunk.final is None:
                with self._lock:
                    self.first_sentence_s.append(time.perf_counter() - t0)
                    self.first_sentence_at.append(time.monotonic())
                first = False
            yield chunk

    def __getattr__(self, name):
        return getattr(self.llm, name)


def speech_wav(path: Path, barge_gap_s: float) -> Path:
    """The fake microphone's input: the LibriVox utterances, the second followed by only
    `barge_gap_s` of silence (the third starts while the avatar answers it), the others by
    REPLY_GAP_S."""
    import soundfile as sf

    parts = []
    for k, name in enumerate(SPOKEN):
        pcm, sr = sf.read(LIBRIVOX / name, dtype="float32")
        parts += [pcm, np.zeros(int((barge_gap_s if k == 1 else REPLY_GAP_S) * sr), np.float32)]
    sf.write(path, np.concatenate(parts), 16000, subtype="PCM_16")
    return path


@dataclass(frozen=True)
class Typist:
    """How a person types a chat message (`--typing person`), in seconds: each key after a
    lognormal interval (median `key_s`, spread `sigma`, clipped to [`min_s`, `max_s`]); before a
    word, with probability `think_p`, a pause of `think_s` more (they think of the next word);
    Send is one more key after the last one, with probability `review_p` after a look over the
    message (`review_s` more). Seeded: a run types the same way each time. The page sends the text
    typed so far to be prefilled after a 300 ms pause (app/ui/live.js DRAFT_AFTER_MS) and at a
    sentence's last key, so the pauses and the full stops decide what was evaluated before Send.
    About 65 words a minute (an average typist is 40-50, a fast one 70-90)."""

    key_s: float = 0.17
    sigma: float = 0.35
    min_s: float = 0.05
    max_s: float = 0.7
    think_p: float = 0.15
    think_s: tuple[float, float] = (0.3, 1.0)
    review_p: float = 0.5
    review_s: tuple[float, float] = (0.3, 1.0)

    def delays(self, text: str, seed: int) -> list[float]:
        """Seconds before each key of `text`, then before Send (len(text) + 1 values)."""
        rng = np.random.default_rng(seed)

        def key() -> float:
            return float(np.clip(self.key_s * np.exp(self.sigma * rng.standard_normal()), self.min_s, self.max_s))

        out = []
        for k, ch in enumerate(text):
            wait = key()
            if k > 0 and text[k - 1] == " " and ch != " " and rng.random() < self.think_p:
                wait += float(rng.uniform(*self.think_s))
            out.append(wait)
        send = key() + (float(rng.uniform(*self.review_s)) if rng.random() < self.review_p else 0.0)
        return out + [send]


def _typed_turns(page, llm, res: dict, wait_ms, texts, key: str, typist: Typist | None = None) -> None:
    """Typed turns into res[key]: each message pasted at once and sent (typist None), or typed
    key by key as `typist` types (the page prefills the text so far at its pauses)."""
    for k, text in enumerate(texts):
        box = page.locator("#message textarea")
        drafts = _stats(page)["drafts"]
        typing_s = 0.0
        if typist is None:
            box.fill(text)
        else:
            box.click()
            delays = typist.delays(text, seed=11 + k)
            for ch, wait in zip(text, delays):
                time.sleep(wait)
                page.keyboard.type(ch)
            time.sleep(delays[-1])
            typing_s = sum(delays)
        n_llm = len(llm.first_sentence_s)
        n_begun = len(_stats(page)["turnsBegun"])
        page.locator("#send").click()
        sent = _stats(page)["sentAt"]
        turn = _turn_after(page, n_begun, wait_ms())
        reply = _reply(page, turn, wait_ms())
        saved = len(res["typed"]) + len(res.get("typed_person", [])) + 2  # greeting + the turns so far
        page.wait_for_function("n => document.querySelectorAll('#history .wc-feeling').length >= n",
                               arg=saved, timeout=wait_ms())  # the turn is saved
        llm_s = llm.first_sentence_s[n_llm] if len(llm.first_sentence_s) > n_llm else None
        first = (reply["first"] - sent) / 1000
        row = {"text": text, "turn": turn, "first_audio_video_s": first, "llm_first_sentence_s": llm_s,
               "without_llm_s": first - llm_s if llm_s is not None else None,
               "speech_runs": reply["runs"], **reply_freezes(_stats(page), reply["first"], reply["end"])}
        if typist is not None:
            row |= {"typing_s": typing_s, "pause_before_send_s": delays[-1],
                    "drafts_sent": _stats(page)["drafts"] - drafts}
        res.setdefault(key, []).append(row)


def _spoken_turns(page, res: dict, wait_ms) -> None:
    """Hands-free: the microphone plays the utterances with pauses between them."""
    page.locator("#live-mic").click()
    for k in range(len(SPOKEN)):
        page.wait_for_function("n => window.warmchatLive.stats.transcripts.length > n", arg=k, timeout=wait_ms())
        heard = _stats(page)["heard"][k]  # the turns begun when it was heard: its own is the next
        if not heard["text"]:
            continue
        ended, n_begun = heard["endAt"], heard["turnsBegun"]
        reply = _reply(page, _turn_after(page, n_begun, wait_ms()), wait_ms(), heard=k + 1)
        if reply is None:  # cancelled: the next utterance came while the avatar thought
            res.setdefault("spoken_cancelled", []).append(heard["text"])
            continue
        s = _stats(page)
        res["spoken"].append({"transcript": heard["text"],
                              "speech_runs": reply["runs"], "end_of_speech_to_audio_s": (reply["first"] - ended) / 1000,
                              **reply_freezes(s, reply["first"], reply["end"])})
        if s["bargeAt"] is not None and all(b["at"] != s["bargeAt"] for b in res["barge_in"]):
            res["barge_in"].append(_barge(s))


def _barge(s: dict) -> dict:
    """The last barge-in: the person's speech start -> the avatar silent (the page mutes it), and
    -> its lips still (the playhead reaches the cut, beyond which its buffered speech was dropped)."""
    out = {"at": s["bargeAt"], "latency_ms": s["bargeLatencyMs"]}
    cut = next((c for c in s.get("cuts", []) if c["atMs"] >= s["bargeAt"]), None)
    if cut is not None:
        out |= {"lips_still_ms": cut["atMs"] - s["bargeAt"] + 1000 * (cut["at"] - cut["playhead"]),
                "dropped_s": cut["removedS"]}
    return out


def _stats(page) -> dict:
    return page.evaluate("() => window.warmchatLive.stats")


def _turn_after(page, n_begun: int, timeout_ms: float) -> int:
    """The turn the server began after `n_begun` turns (waits for it)."""
    page.wait_for_function("n => window.warmchatLive.stats.turnsBegun.length > n", arg=n_begun, timeout=timeout_ms)
    return int(_stats(page)["turnsBegun"][n_begun][0])


def _reply(page, turn: int, timeout_ms: float, heard: int | None = None) -> dict | None:
    """The page's playback of `turn`'s speech once it has ended: first and last speaking time and
    the number of runs of speech (1: its sentences played without a silent gap between them).
    heard: the transcripts the page had when the turn began; None, the turn was cancelled before
    it spoke (the person went on speaking while the avatar thought: a newer transcript came first)."""
    page.wait_for_function("([g, n]) => { const s = window.warmchatLive.stats; const t = s.turns[g]; "
                           "return (t && t.end && !s.speaking && s.state !== 'thinking') "
                           "|| (n !== null && !t && s.transcripts.length > n) }", arg=[str(turn), heard],
                           timeout=timeout_ms)
    return _stats(page)["turns"].get(str(turn))


def barge_gap(alone: dict | None) -> float:
    """Seconds of silence after the second utterance, so the third starts while the avatar speaks
    its reply: `alone` is the embedded model's `model_alone` speed (None: the scripted model)."""
    if alone is None:
        return SCRIPTED_BARGE_GAP_S
    ms = alone.get("decode_ms_per_token") or 1e9
    if ms < FAST_DECODE_MS:
        return FAST_EMBEDDED_BARGE_GAP_S
    return MID_EMBEDDED_BARGE_GAP_S if ms < MID_DECODE_MS else EMBEDDED_BARGE_GAP_S


def decode_timings(base_url: str, content: str, tokens: int, timeout_s: float = 120.0) -> dict:
    """llama.cpp's timings (`prompt_per_second`, `predicted_per_second`, ...) of `content` sent
    uncached to the model server at `base_url` and `tokens` tokens decoded, whatever it writes.
    Raises OSError (unreachable), KeyError or ValueError (not a llama.cpp answer)."""
    import urllib.request

    body = {"messages": [{"role": "user", "content": content}],
            "max_tokens": tokens, "temperature": 0, "cache_prompt": False, "ignore_eos": True}
    req = urllib.request.Request(base_url.rstrip("/") + "/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout_s) as r:
        return json.loads(r.read())["timings"]


def model_alone(llm, tokens: int = 32) -> dict | None:
    """The embedded model's own speed in this run, before the page and the stream start (the
    machine's state: the same model decoded 5-12 tokens a second on the same 2 cores on one day):
    one uncached prompt and `tokens` decoded, as llama.cpp times them; the faster of two tries."""
    started, _ = llm.process().ensure_running()
    best = None
    for attempt in range(2):
        try:
            t = decode_timings(started.base_url, f"Tell me a long story about a dog ({attempt}).", tokens)
        except (OSError, KeyError, ValueError) as exc:
            return {"error": str(exc)[:200]}
        if best is None or t.get("predicted_per_second", 0) > best.get("predicted_per_second", 0):
            best = t
    tok_s = best.get("predicted_per_second")
    return {"prompt_tok_s": best.get("prompt_per_second"), "decode_tok_s": tok_s,
            "decode_ms_per_token": 1000.0 / tok_s if tok_s else None}


class ServerTimings(logging.Handler):
    """Collects the model server's timings logged with each reply (dialogue.llm.openai_backend)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.replies: list[tuple[float, dict]] = []
        self.firsts: list[tuple[float, dict]] = []  # the timings so far at each reply's first sentence

    def emit(self, record: logging.LogRecord) -> None:
        timings = getattr(record, "llm_timings", None)
        if timings:
            self.replies.append((time.monotonic(), dict(timings) | {"raw": getattr(record, "llm_raw", "")}))
        first = getattr(record, "llm_first", None)
        if first:
            self.firsts.append((time.monotonic(), dict(first)))


class LoadSampler:
    """os.getloadavg() every `every_s` seconds on a thread, while the bench runs."""

    def __init__(self, every_s: float = 5.0):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._every = every_s
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self._every):
                return


def run(args) -> dict:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from playwright.sync_api import TimeoutError as PageTimeout
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
    alone = model_alone(services.llm.llm) if args.llm == "embedded" else None
    asr = _asr_factory(settings)
    asr_model = asr()  # load the recognizer before the page starts the clock
    getattr(asr_model, "load", lambda: None)()
    demo = build_demo(services, settings, asr=lambda: asr_model)
    port = free_port()
    configure_queue(demo, settings).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                           quiet=True, **launch_options(settings, demo))
    url = f"http://127.0.0.1:{port}/"
    res: dict = {"llm": args.llm, "warm_up_s": warm_s, "model_alone": alone, "typed": [], "typed_person": [], "spoken": [], "barge_in": [],
                 "typist": asdict(Typist()) if args.typing != "paste" else None}
    mic: list[str] = []
    if LIBRIVOX.is_dir():
        res["barge_gap_s"] = args.barge_gap or barge_gap(alone)
        wav = speech_wav(tmp / "mic.wav", res["barge_gap_s"])
        mic = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
               f"--use-file-for-fake-audio-capture={wav}%noloop"]
    else:
        res["spoken_skipped"] = f"no speech to play: {LIBRIVOX} is missing (apt-get install pocketsphinx-testdata)"
    server = ServerTimings()  # the model's prompt tokens per reply (embedded llama.cpp)
    backend_log = logging.getLogger("dialogue.llm.openai_backend")
    backend_log.addHandler(server)
    backend_log.setLevel(logging.INFO)
    deadline = time.monotonic() + args.budget

    def wait_ms() -> float:  # a step's wait: at most WAIT_MS, never past the budget
        left = 1000 * (deadline - time.monotonic())
        if left <= 0:
            raise TimeoutError("out of budget")
        return min(WAIT_MS, left)

    try:
        with sync_playwright() as pw:
            from tests.e2e.conftest import CHROMIUM_ARGS

            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + [
                "--autoplay-policy=no-user-gesture-required"] + mic)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            if args.heard:  # what is heard (app/ui/live.js): it routes the sound through Web Audio
                page.add_init_script("window.warmchatLiveAudioProbe = true")
            t_goto = time.perf_counter()
            page.goto(url)
            page.wait_for_function("() => window.warmchatLive && window.warmchatLive.stats.playing", timeout=wait_ms())
            res["first_load_to_playing_s"] = time.perf_counter() - t_goto
            try:
                if args.typing in ("paste", "both"):
                    _typed_turns(page, llm, res, wait_ms, TYPED[: args.typed], "typed")
                if args.typing in ("person", "both"):
                    _typed_turns(page, llm, res, wait_ms, TYPED_BY_HAND[: args.typed], "typed_person", Typist())
                if mic:
                    _spoken_turns(page, res, wait_ms)
            except (TimeoutError, PageTimeout) as exc:  # out of budget (or a step never came): keep what was measured
                res["ended_early"] = str(exc).splitlines()[0][:200]
            s = _stats(page)
            res["page"] = {k: s[k] for k in ("frames", "freezes", "frozenMs", "waiting", "fragments", "bytes", "mode",
                                             "waits", "catchUps", "dataGaps", "longTasks")}
            res["page"]["partial_transcripts"] = len(s.get("partials", []))
            res["page"]["longest_gaps"] = sorted(s["gaps"], key=lambda g: -g[1])[:10]  # [page ms, gap ms]
            res["page"]["cuts"] = s.get("cuts", [])
            res["page"]["turns"] = s.get("turns", {})
            if args.heard:
                samples = s.get("heardAudio") or []
                res["heard"] = sound_heard(samples, s.get("speechAt", []), [b["at"] for b in res["barge_in"]])
                res["heard"]["samples_file"] = str(tmp / "heard.json")  # the raw samples, kept out of the results
                (tmp / "heard.json").write_text(json.dumps({"samples": samples, "speechAt": s.get("speechAt", []),
                                                            "cuts": s.get("cuts", []), "barge": res["barge_in"]}))
            hub = demo.warmchat_live
            for live in list(hub._by_session.values())[:1]:  # the page's session, before the page goes
                res["stream_cpu_ms_per_s"] = live.cost.per_second()
                res["stream_behind_max_s"] = live.cost.behind_s
                res["stream_frames"] = live.cost.frames
                res["stream_size"] = live.pipeline.renderer.size
                trace = list(live.trace)
                res["stages"] = stages(trace, list(llm.first_sentence_at), server.replies, server.firsts)
                t0 = trace[0]["t"] if trace else 0.0  # the raw marks, seconds from the first
                res["trace"] = [{k: (v - t0 if k in ("t", "speech_end", "plays_at") else v) for k, v in m.items()}
                                for m in trace]
                res["trace_t0_monotonic"] = t0  # to line the marks up with other time.monotonic() logs
            browser.close()
    finally:
        hub = getattr(demo, "warmchat_live", None)
        if hub is not None:
            hub.close_all()
        demo.close()
        close = getattr(services.llm.llm, "close", None)
        if close is not None:
            close()
        backend_log.removeHandler(server)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--typed", type=int, default=3, help="typed turns of each kind (max 3)")
    p.add_argument("--typing", choices=("both", "paste", "person"), default="both",
                   help="typed turns pasted and sent at once, typed key by key as a person types "
                        "(Typist: the page prefills the text so far at the typing pauses), or both "
                        "(the default: both figures, pasted first)")
    p.add_argument("--llm", choices=("both", "embedded", "scripted"), default="both",
                   help="the configured (embedded) model, a scripted instant one (the avatar path alone), "
                        "or both, one after the other (the default)")
    p.add_argument("--barge-gap", type=float, default=None,
                   help="seconds between the second utterance and the third that interrupts its reply "
                        f"(default {SCRIPTED_BARGE_GAP_S:g} with the scripted model; with the embedded one "
                        f"{FAST_EMBEDDED_BARGE_GAP_S:g} where it decodes faster than {FAST_DECODE_MS:g} ms a token, "
                        f"else {EMBEDDED_BARGE_GAP_S:g})")
    p.add_argument("--budget", type=float, default=260.0,
                   help="seconds for the measured turns of each run (after the models load); the rest is skipped")
    p.add_argument("--heard", action="store_true",
                   help="also listen to the page (a Web Audio analyser on the video element): when a reply's "
                        "first sound comes after its first speaking frame, and how long sound goes on after a "
                        "barge-in. It routes the sound through Web Audio, which costs the page: its freezes "
                        "and latencies are then not those of use")
    p.add_argument("--out", type=Path, default=None,
                   help="results JSON of a single run (default bench/results/live.json, live_scripted.json "
                        "with --llm scripted)")
    args = p.parse_args(argv)
    modes = ("embedded", "scripted") if args.llm == "both" else (args.llm,)
    if args.out is not None and len(modes) > 1:
        p.error("--out names the JSON of one run: give --llm embedded or --llm scripted with it")
    for mode in modes:
        one = argparse.Namespace(**{**vars(args), "llm": mode})
        one.out = args.out or RESULTS / ("live.json" if mode == "embedded" else "live_scripted.json")
        measure(one)
    return 0


def measure(args) -> dict:
    """One run of the bench (args.llm: "embedded" | "scripted"): writes args.out, prints the table."""
    from bench.machine import cpu_model

    meta = {"cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_start": os.getloadavg()}
    with LoadSampler() as load:
        res = run(args)
    res |= meta | {"load_avg_end": os.getloadavg(), "load_avg_1min_samples": load.samples,
                   "load_avg_1min_median": median(load.samples), "summary": summarize(res)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    rows = table_rows(res)
    print(f"{res['cpu']} ({res['cores']} cores), load {res['load_avg_start']} -> {res['load_avg_end']} "  # noqa: T201
          f"(1-min median {fmt(res['load_avg_1min_median'])}), llm {args.llm}")
    for name, value, target in rows:
        print(f"{name:46s} {value:>14s}  {target}")  # noqa: T201
    for note in ("ended_early", "spoken_skipped", "spoken_cancelled"):
        if res.get(note):
            print(f"{note.replace('_', ' ')}: {res[note]}")  # noqa: T201
    print(f"typed {len(res['typed'])} pasted + {len(res['typed_person'])} key by key, "  # noqa: T201
          f"spoken {len(res['spoken'])}, barge-ins {len(res['barge_in'])}; wrote {args.out}")
    return res


if __name__ == "__main__":
    raise SystemExit(main())
