"""How the LLM process and the avatar's stages share the CPU cores.

    nice -n 10 python -m bench.llm_share [--configs 2:5 1:5 2:0] [--sentences 3]

For each LLM budget THREADS:NICE (llama.cpp threads, the model process's nice relative to the
app), the avatar says --sentences sentences (piper TTS -> motion -> warp render -> H.264, the app's
`say_to_file`) twice: alone, then while the model writes replies back to back. Reported: the
avatar's real-time factor (wall seconds per second of video; < 1 keeps real time) alone and under
the LLM, and the LLM's decode tokens/s alone and under the avatar. Writes bench/results/llm_share.json
with the CPU model and load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

from bench.llm_latency import cpu_model
from dialogue.llm.models import DEFAULT_MODEL, model_path, model_spec
from dialogue.llm.supervisor import ModelProcess
from emotion import EmotionState

RESULTS = Path(__file__).resolve().parent / "results" / "llm_share.json"
SENTENCES = [
    "That sounds like a wonderful day, I'm really glad you told me about it.",
    "Oh no, I'm so sorry to hear that, it must have been very hard for you.",
    "Really? I never knew that, tell me more about how it happened.",
    "I think a quiet evening with a good book sounds just right tonight.",
]
PROMPT = [{"role": "system", "content": "You are a friendly storyteller."},
          {"role": "user", "content": "Tell me a long story about a lighthouse keeper and a storm."}]


class Decoder:
    """Streams replies from the model process back to back on a thread; counts tokens."""

    def __init__(self, base_url: str) -> None:
        import openai

        self.client = openai.OpenAI(base_url=base_url, api_key="not-needed", timeout=600, max_retries=0)
        self.stop = threading.Event()
        self.tokens = 0
        self.busy_s = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            stream = self.client.chat.completions.create(model="m", messages=PROMPT, max_tokens=120, stream=True,
                                                         temperature=0.8, extra_body={"cache_prompt": True})
            first = None
            for chunk in stream:
                if self.stop.is_set():
                    stream.close()
                    break
                if chunk.choices and chunk.choices[0].delta.content:
                    if first is None:
                        first = time.perf_counter()  # decode starts after the (cached) prompt
                    else:
                        self.tokens += 1
            if first is not None:
                self.busy_s += time.perf_counter() - first

    def tok_s(self) -> float:
        return self.tokens / self.busy_s if self.busy_s > 0 else 0.0


def avatar_rtf(services_avatar, persona, texts: list[str], out_dir: Path) -> float:
    """Wall seconds per second of rendered video for `texts`, one say_to_file each."""
    wall = video = 0.0
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        seg = services_avatar.say_to_file(text, EmotionState.of("happy", 0.5), persona, out_dir / f"s{i}.mp4")
        wall += time.perf_counter() - t0
        video += seg.motion.duration
    return wall / video


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--configs", nargs="+", default=["2:5", "1:5", "2:0"], help="THREADS:NICE of the model process")
    ap.add_argument("--sentences", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    from app.media import AvatarComponents as AppAvatar
    from app.personas import get_persona
    from app.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="warmchat-share-"))
    settings = Settings(data_dir=tmp)
    persona = get_persona("ada")
    avatar = AppAvatar(settings)
    avatar.warm_up(persona)
    texts = SENTENCES[: args.sentences]
    avatar_rtf(avatar, persona, texts[:1], tmp)  # one unmeasured run: first-call setup
    load0 = os.getloadavg()
    rows = []
    for config in args.configs:
        threads, nice = (int(x) for x in config.split(":"))
        proc = ModelProcess(model_path(model_spec(args.model).name), threads=threads, nice=nice, start_timeout_s=600)
        try:
            started, _ = proc.ensure_running()
            alone = Decoder(started.base_url)
            alone.thread.start()
            deadline = time.perf_counter() + 20
            while alone.tokens < 60 and time.perf_counter() < deadline:
                time.sleep(0.2)  # let the LLM alone write some tokens (a measurement window, not a test wait)
            alone.stop.set()
            alone.thread.join(timeout=120)
            rtf_alone = avatar_rtf(avatar, persona, texts, tmp)
            shared = Decoder(started.base_url)
            shared.thread.start()
            time.sleep(1.0)  # the decoder is writing before the avatar starts
            rtf_shared = avatar_rtf(avatar, persona, texts, tmp)
            shared.stop.set()
            shared.thread.join(timeout=120)
        finally:
            proc.stop()
        row = {"threads": threads, "nice": nice, "avatar_rtf_alone": rtf_alone, "avatar_rtf_with_llm": rtf_shared,
               "llm_tok_s_alone": alone.tok_s(), "llm_tok_s_with_avatar": shared.tok_s(),
               "loadavg": os.getloadavg()}
        rows.append(row)
        print(f"LLM {threads} threads nice {nice}: avatar RTF {rtf_alone:.2f} alone, {rtf_shared:.2f} with the LLM; "
              f"LLM {alone.tok_s():.1f} tok/s alone, {shared.tok_s():.1f} with the avatar "
              f"(load {row['loadavg'][0]:.1f})", flush=True)
    result = {"model": model_spec(args.model).title, "cpu": cpu_model(), "cpu_count": os.cpu_count(),
              "loadavg_before": load0, "sentences": len(texts), "rows": rows,
              "note": "avatar RTF = wall seconds per second of video (piper + motion + warp + H.264); < 1 is real time"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
